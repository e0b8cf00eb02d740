/* names.c - the names nss_azmi never serves: reserved ones and those of local accounts and groups. */
#include "names.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Names with rights or meaning on common distributions (sudoers, polkit, daemons' groups). */
static const char *const reserved[] = {
    "root",     "admin",  "administrator", "adm",        "sudo",   "sudoers", "wheel",     "staff",
    "docker",   "lxd",    "lxc",           "libvirt",    "kvm",    "disk",    "shadow",    "kmem",
    "tty",      "daemon", "bin",           "sys",        "sync",   "nobody",  "nogroup",   "users",
    "operator", "netdev", "plugdev",       "sshd",       "_ssh",   "ssh",     "audio",     "video",
    "input",    "render", "lpadmin",       "sambashare", "ubuntu", "debian",  "azureuser", "cloud-user",
};

void names_canon(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < dstlen; i++)
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
	dst[i] = '\0';
}

bool names_reserved(const char *canon)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(canon, reserved[i]) == 0)
			return true;
	return strncmp(canon, "systemd-", 8) == 0 || strncmp(canon, "azmi-", 5) == 0;
}

/* Is `name` an entry of /etc/passwd or /etc/group?  Plain parsers, never NSS. */
static bool in_file(const char *name, bool group, bool anycase)
{
	FILE *f = fopen(group ? NAMES_GROUP : NAMES_PASSWD, "re");
	size_t buflen = 4096;
	char *buf = malloc(buflen);
	bool found = false;

	while (f != NULL && buf != NULL && !found) {
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		int e =
		    group ? fgetgrent_r(f, &gr, buf, buflen, &grp) : fgetpwent_r(f, &pw, buf, buflen, &pwp);
		if (e == ERANGE && buflen < (1u << 20)) {
			char *nb = realloc(buf, buflen * 4);
			if (nb == NULL)
				break;
			buf = nb;
			buflen *= 4;
			continue; /* glibc rewinds to the start of the entry on ERANGE */
		}
		if (e != 0)
			break;
		const char *entry = group ? gr.gr_name : pw.pw_name;
		found = anycase ? strcasecmp(entry, name) == 0 : strcmp(entry, name) == 0;
	}
	if (f != NULL)
		fclose(f);
	free(buf);
	return found;
}

bool names_in_passwd(const char *name, bool anycase)
{
	return in_file(name, false, anycase);
}

bool names_servable(const struct login_conf *c, const char *canon, char *why, size_t whylen)
{
	const char *what = NULL;

	if (names_reserved(canon))
		what = "a reserved name";
	else if (strcasecmp(canon, c->admin_group) == 0)
		what = "the admin group's name";
	else if (strcasecmp(canon, LOGIN_USERS_GROUP) == 0)
		what = "the users group's name";
	else if (in_file(canon, false, true))
		what = "the name of a local account in " NAMES_PASSWD " (in some case)";
	else if (in_file(canon, true, true))
		what = "the name of a local group in " NAMES_GROUP " (in some case)";
	if (what == NULL)
		return true;
	snprintf(why, whylen,
	         "\"%.200s\" is %s: never served to an Entra user (map the person to another local name in "
	         "user_map)",
	         canon, what);
	return false;
}
