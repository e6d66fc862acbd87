#include "wecare_common.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcuid.h"

extern "C" const char *wc_dcmtk_version(void) { return OFFIS_DCMTK_VERSION_STRING; }
