// Dictionary look-ups for the Swift dataset scanner (see wecare_dictionary.h).
#include "wecare_dictionary.h"
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcdicent.h"
#include "dcmtk/dcmdata/dctagkey.h"
#include "dcmtk/dcmdata/dcvr.h"
#include <cstring>

extern "C" int wc_dictionary_vr(uint16_t group, uint16_t element, const char *private_creator, char vr[3]) {
    const char *creator = (private_creator != nullptr && private_creator[0] != '\0') ? private_creator : nullptr;
    const DcmDataDictionary &dictionary = dcmDataDict.rdlock();
    const DcmDictEntry *entry = dictionary.findEntry(DcmTagKey(group, element), creator);
    int found = 0;
    if (entry != nullptr) {
        const char *name = entry->getVR().getVRName();
        vr[0] = name != nullptr && name[0] != '\0' ? name[0] : '?';
        vr[1] = name != nullptr && name[0] != '\0' ? name[1] : '?';
        vr[2] = '\0';
        found = 1;
    }
    dcmDataDict.rdunlock();
    return found;
}
