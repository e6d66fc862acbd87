// zlib (Debian: zlib1g-dev, already pulled in by libdcmtk-dev): raw inflate of Deflated Explicit
// VR Little Endian datasets, so they can be checked before DCMTK parses them.
#include <zlib.h>
