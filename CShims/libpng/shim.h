// libpng's simplified API (Debian: libpng-dev): whole-image read/write without setjmp.
#include <png.h>
