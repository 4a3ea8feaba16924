/* SPDX-License-Identifier: MIT */
/*
 * grouplist-grows.so: an LD_PRELOAD library whose getgrouplist() answers for
 * the user named by $GROUPLIST_GROWS_USER as an NSS source whose group list
 * keeps growing while it is read (a directory being filled): every call
 * fills the buffer it is given and says twice as many are needed. Other
 * users get the real answer. `spawnd --query` must fail such a client
 * rather than use a list longer than its buffer (issue 11).
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

int
getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups)
{
	const char *grows = getenv("GROUPLIST_GROWS_USER");
	int (*real)(const char *, gid_t, gid_t *, int *);

	if (grows && strcmp(user, grows) == 0) {
		for (int i = 0; i < *ngroups; i++)
			groups[i] = group;
		*ngroups = *ngroups > 0 ? *ngroups * 2 : 1;
		return -1;
	}
	real = (int (*)(const char *, gid_t, gid_t *, int *))dlsym(RTLD_NEXT, "getgrouplist");
	return real ? real(user, group, groups, ngroups) : -1;
}
