/* POSIX tar (ustar with pax extended headers, GNU long names read): the format of fs.tar-out and fs.tar-in. */
#ifndef BOXLITE_TAR_H
#define BOXLITE_TAR_H

#include <stdint.h>

#define TAR_BLOCK 512u
#define TAR_PAX_MAX (1u << 20) /* largest extended header accepted */

struct ustar {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], type, linkname[100];
	char magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8], prefix[155], pad[12];
};

_Static_assert(sizeof(struct ustar) == TAR_BLOCK, "a ustar header is one block");

#endif
