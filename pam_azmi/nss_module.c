/*
 * nss_module.c - libnss_azmi.so.2: passwd entries for Entra users
 * (UPN-shaped names under allowed_domains, mapped names, upn_suffix names),
 * the admin group and the users group, every Entra user's primary group
 * (there are no per-user groups: a group named after a user could match a
 * sudoers %group rule).  Answers come from the configuration, /etc/passwd,
 * /etc/group (read as files, never through NSS) and the state files that
 * pam_azmi writes; there is no network here at all, so a lookup never blocks.
 */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "admins.h"
#include "login_conf.h"
#include "names.h"
#include "principal.h"
#include "uidmap.h"

#define NSS_AZMI_EXPORT __attribute__((visibility("default")))
#define NSS_SHELL       "/bin/bash"
#define NSS_HOME        "/home/"

/* The entry points glibc looks up by name (declared here: no system header has them). */
enum nss_status _nss_azmi_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                     int *errnop);
enum nss_status _nss_azmi_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_azmi_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
                                     int *errnop);
enum nss_status _nss_azmi_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_azmi_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
                                         gid_t **groupsp, long int limit, int *errnop);
enum nss_status _nss_azmi_setpwent(int stayopen);
enum nss_status _nss_azmi_endpwent(void);
enum nss_status _nss_azmi_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_azmi_setgrent(int stayopen);
enum nss_status _nss_azmi_endgrent(void);
enum nss_status _nss_azmi_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop);

/* A caller's buffer being filled. */
struct fill {
	char *p;
	size_t left;
};

static char *fill_str(struct fill *f, const char *s)
{
	size_t n = strlen(s) + 1;
	char *out = f->p;

	if (n > f->left)
		return NULL;
	memcpy(out, s, n);
	f->p += n;
	f->left -= n;
	return out;
}

static void *fill_array(struct fill *f, size_t count, size_t size)
{
	uintptr_t misalign = (uintptr_t)f->p % alignof(char *);
	size_t pad = misalign ? alignof(char *) - misalign : 0;
	void *out;

	if (pad > f->left || count > (f->left - pad) / size)
		return NULL;
	out = f->p + pad;
	f->p += pad + count * size;
	f->left -= pad + count * size;
	return out;
}

static enum nss_status too_small(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

static enum nss_status not_found(int *errnop)
{
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

/*
 * The helpers below say -errno, as the login library's do; here, the one
 * place, it becomes NSS's positive *errnop.  Only problems are logged (the
 * caller's identifier, authpriv), never a normal miss.
 */
static enum nss_status unavailable(int *errnop, int neg_errno, const char *what)
{
	int err = neg_errno < 0 ? -neg_errno : EIO;

	syslog(LOG_AUTHPRIV | LOG_ERR, "nss_azmi: cannot answer for %s: %s%s", what, strerror(err),
	       err == EPERM || err == ELOOP ? " (" AZMI_STATEDIR
	                                      " and its files must be owned by root, not writable "
	                                      "by group or others, and not symbolic links)"
	                                    : "");
	*errnop = err;
	return NSS_STATUS_UNAVAIL;
}

/*
 * The configuration, on the heap: it is some 19 KiB, too much for the stack
 * of whatever thread of whatever program asked.  NULL with *errnop set when
 * it cannot be had; a bad one is logged once per process (ls -l would
 * otherwise log per file).
 */
static struct login_conf *load_conf(int *errnop)
{
	static atomic_bool logged;
	struct login_conf *c = malloc(sizeof(*c));

	if (c == NULL) {
		*errnop = ENOMEM;
		return NULL;
	}
	if (login_conf_load_nss(c))
		return c;
	free(c);
	if (!atomic_exchange(&logged, true))
		syslog(LOG_AUTHPRIV | LOG_ERR, "nss_azmi: the configuration cannot be read or is invalid "
		                               "(azmi check-login shows why); answering nothing");
	*errnop = EINVAL;
	return NULL;
}

/* What load_conf's failure means to the caller: no memory is worth a retry, the rest is not. */
static enum nss_status conf_failed(int *errnop)
{
	return *errnop == ENOMEM ? NSS_STATUS_TRYAGAIN : NSS_STATUS_UNAVAIL;
}

/*
 * Is `name` an Entra user this module serves?  0 with *served (and then its
 * canonical name and UID), or -errno when it cannot tell.  A name whose UID
 * slot is someone else's is not served (never moved to another UID: sshd
 * would keep the UID it saw before authentication); that is logged, with the
 * way out.
 */
static int served_user(const struct login_conf *c, const char *name, char canon[LOGIN_NAME_MAX],
                       uint32_t *uid, bool *served)
{
	struct principal p;
	char why[768];
	int r = principal_resolve(c, name, -1, &p);

	*served = false;
	if (r != 0)
		return r;
	if (p.via == PRINCIPAL_NONE || names_in_passwd(p.user, false))
		return 0;
	memcpy(canon, p.user, LOGIN_NAME_MAX);
	r = uidmap_lookup(c, p.user, uid, why, sizeof(why));
	if (r == -EADDRINUSE) {
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "nss_azmi: %s", why);
		return 0;
	}
	*served = r == 0;
	return r;
}

static uint32_t users_gid(const struct login_conf *c)
{
	return c->uid_min + 1;
}

static enum nss_status fill_passwd(const struct login_conf *c, const char *name, uint32_t uid,
                                   struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	struct fill f = {buf, buflen};
	size_t hlen = strlen(NSS_HOME) + strlen(name) + 1;

	if (hlen > buflen)
		return too_small(errnop);
	memcpy(buf, NSS_HOME, strlen(NSS_HOME));
	memcpy(buf + strlen(NSS_HOME), name, strlen(name) + 1);
	pw->pw_dir = buf;
	f.p += hlen;
	f.left -= hlen;
	if ((pw->pw_name = fill_str(&f, name)) == NULL || (pw->pw_passwd = fill_str(&f, "*")) == NULL ||
	    (pw->pw_gecos = fill_str(&f, "")) == NULL || (pw->pw_shell = fill_str(&f, NSS_SHELL)) == NULL)
		return too_small(errnop);
	pw->pw_uid = (uid_t)uid;
	pw->pw_gid = (gid_t)users_gid(c);
	return NSS_STATUS_SUCCESS;
}

/* A group entry: `members` NULL-terminated (or NULL for none). */
static enum nss_status fill_group(const char *name, uint32_t gid, char *const *members, size_t nmem,
                                  struct group *gr, char *buf, size_t buflen, int *errnop)
{
	struct fill f = {buf, buflen};
	char **mem = fill_array(&f, nmem + 1, sizeof(char *));

	if (mem == NULL)
		return too_small(errnop);
	for (size_t i = 0; i < nmem; i++)
		if ((mem[i] = fill_str(&f, members[i])) == NULL)
			return too_small(errnop);
	mem[nmem] = NULL;
	if ((gr->gr_name = fill_str(&f, name)) == NULL || (gr->gr_passwd = fill_str(&f, "*")) == NULL)
		return too_small(errnop);
	gr->gr_gid = (gid_t)gid;
	gr->gr_mem = mem;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status admin_group(const struct login_conf *c, struct group *gr, char *buf, size_t buflen,
                                   int *errnop)
{
	struct name_list l;
	enum nss_status s;
	int r = admins_load(&l);

	if (r != 0)
		return unavailable(errnop, r, AZMI_STATEDIR "/" ADMINS_FILE);
	s = fill_group(c->admin_group, c->uid_min, l.v, l.n, gr, buf, buflen, errnop);
	admins_free(&l);
	return s;
}

/* The served user whose recorded UID is `uid`: 0 with *found (and its name), or -errno. */
static int user_by_uid(const struct login_conf *c, uint32_t uid, char name[LOGIN_NAME_MAX], bool *found)
{
	struct uid_table t;
	const struct uid_entry *e;
	char canon[LOGIN_NAME_MAX];
	uint32_t check;
	bool recorded = false;
	int r;

	*found = false;
	if (uid <= c->uid_min || uid > c->uid_max)
		return 0;
	if ((r = uidtab_load(&t)) != 0)
		return r;
	if ((e = uidtab_find_uid(&t, uid)) != NULL) {
		snprintf(name, LOGIN_NAME_MAX, "%s", e->name);
		recorded = true;
	}
	uidtab_free(&t);
	if (!recorded)
		return 0;
	/* The table's name must still be served, at this very UID. */
	if ((r = served_user(c, name, canon, &check, found)) != 0)
		return r;
	*found = *found && check == uid;
	return 0;
}

static enum nss_status getpwnam_with(const struct login_conf *c, const char *name, struct passwd *pw,
                                     char *buf, size_t buflen, int *errnop)
{
	char canon[LOGIN_NAME_MAX];
	uint32_t uid;
	bool served;
	int r;

	if ((r = served_user(c, name, canon, &uid, &served)) != 0)
		return unavailable(errnop, r, name);
	if (!served)
		return not_found(errnop);
	return fill_passwd(c, canon, uid, pw, buf, buflen, errnop);
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                                     size_t buflen, int *errnop)
{
	struct login_conf *c;
	enum nss_status s;

	if (name == NULL || !principal_name_ok(name))
		return not_found(errnop);
	if ((c = load_conf(errnop)) == NULL)
		return conf_failed(errnop);
	s = getpwnam_with(c, name, pw, buf, buflen, errnop);
	free(c);
	return s;
}

static enum nss_status getpwuid_with(const struct login_conf *c, uid_t uid, struct passwd *pw, char *buf,
                                     size_t buflen, int *errnop)
{
	char name[LOGIN_NAME_MAX];
	bool found;
	int r;

	if ((r = user_by_uid(c, (uint32_t)uid, name, &found)) != 0)
		return unavailable(errnop, r, AZMI_STATEDIR "/" UIDTAB_FILE);
	if (!found)
		return not_found(errnop);
	return fill_passwd(c, name, (uint32_t)uid, pw, buf, buflen, errnop);
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                                     int *errnop)
{
	struct login_conf *c;
	enum nss_status s;

	if ((c = load_conf(errnop)) == NULL)
		return conf_failed(errnop);
	s = getpwuid_with(c, uid, pw, buf, buflen, errnop);
	free(c);
	return s;
}

/* The users group: every Entra user's primary group, its members not listed (as for primary groups). */
static enum nss_status users_group(const struct login_conf *c, struct group *gr, char *buf, size_t buflen,
                                   int *errnop)
{
	return fill_group(LOGIN_USERS_GROUP, users_gid(c), NULL, 0, gr, buf, buflen, errnop);
}

static enum nss_status getgrnam_with(const struct login_conf *c, const char *name, struct group *gr,
                                     char *buf, size_t buflen, int *errnop)
{
	if (strcmp(name, c->admin_group) == 0)
		return admin_group(c, gr, buf, buflen, errnop);
	if (strcmp(name, LOGIN_USERS_GROUP) == 0)
		return users_group(c, gr, buf, buflen, errnop);
	return not_found(errnop);
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_getgrnam_r(const char *name, struct group *gr, char *buf,
                                                     size_t buflen, int *errnop)
{
	struct login_conf *c;
	enum nss_status s;

	if (name == NULL || !principal_name_ok(name))
		return not_found(errnop);
	if ((c = load_conf(errnop)) == NULL)
		return conf_failed(errnop);
	s = getgrnam_with(c, name, gr, buf, buflen, errnop);
	free(c);
	return s;
}

static enum nss_status getgrgid_with(const struct login_conf *c, gid_t gid, struct group *gr, char *buf,
                                     size_t buflen, int *errnop)
{
	if ((uint32_t)gid == c->uid_min)
		return admin_group(c, gr, buf, buflen, errnop);
	if ((uint32_t)gid == users_gid(c))
		return users_group(c, gr, buf, buflen, errnop);
	return not_found(errnop);
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                                     int *errnop)
{
	struct login_conf *c;
	enum nss_status s;

	if ((c = load_conf(errnop)) == NULL)
		return conf_failed(errnop);
	s = getgrgid_with(c, gid, gr, buf, buflen, errnop);
	free(c);
	return s;
}

/* Supplementary groups for initgroups(3): the admin group for its members. */
static enum nss_status initgroups_with(const struct login_conf *c, const char *user, gid_t group,
                                       long int *start, long int *size, gid_t **groupsp, long int limit,
                                       int *errnop)
{
	struct name_list l;
	bool member;
	int r;

	if ((r = admins_load(&l)) != 0)
		return unavailable(errnop, r, AZMI_STATEDIR "/" ADMINS_FILE);
	member = admins_has(&l, user);
	admins_free(&l);
	if (!member || (uint32_t)group == c->uid_min)
		return not_found(errnop);
	for (long int i = 0; i < *start; i++)
		if ((*groupsp)[i] == (gid_t)c->uid_min)
			return NSS_STATUS_SUCCESS;
	if (*start == *size) {
		long int nsize = *size ? *size * 2 : 8;
		gid_t *ng;
		if (limit > 0 && nsize > limit)
			nsize = limit;
		if (nsize <= *size)
			return NSS_STATUS_SUCCESS; /* at the limit: the group does not fit */
		if ((ng = realloc(*groupsp, (size_t)nsize * sizeof(gid_t))) == NULL) {
			*errnop = ENOMEM;
			return NSS_STATUS_TRYAGAIN;
		}
		*groupsp = ng;
		*size = nsize;
	}
	(*groupsp)[(*start)++] = (gid_t)c->uid_min;
	return NSS_STATUS_SUCCESS;
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_initgroups_dyn(const char *user, gid_t group, long int *start,
                                                         long int *size, gid_t **groupsp, long int limit,
                                                         int *errnop)
{
	struct login_conf *c;
	enum nss_status s;

	if (user == NULL || !principal_name_ok(user))
		return not_found(errnop);
	if ((c = load_conf(errnop)) == NULL)
		return conf_failed(errnop);
	s = initgroups_with(c, user, group, start, size, groupsp, limit, errnop);
	free(c);
	return s;
}

/* Entra users are not enumerated (there is no list without asking Azure). */
NSS_AZMI_EXPORT enum nss_status _nss_azmi_setpwent(int stayopen)
{
	(void)stayopen;
	return NSS_STATUS_SUCCESS;
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_endpwent(void)
{
	return NSS_STATUS_SUCCESS;
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	(void)pw;
	(void)buf;
	(void)buflen;
	return not_found(errnop);
}

/* Group enumeration lists the admin group and the users group. */
static pthread_mutex_t grent_lock = PTHREAD_MUTEX_INITIALIZER;
static int grent_next;

NSS_AZMI_EXPORT enum nss_status _nss_azmi_setgrent(int stayopen)
{
	(void)stayopen;
	pthread_mutex_lock(&grent_lock);
	grent_next = 0;
	pthread_mutex_unlock(&grent_lock);
	return NSS_STATUS_SUCCESS;
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_endgrent(void)
{
	return _nss_azmi_setgrent(0);
}

NSS_AZMI_EXPORT enum nss_status _nss_azmi_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
	struct login_conf *c;
	enum nss_status s;

	pthread_mutex_lock(&grent_lock);
	if (grent_next > 1) {
		s = not_found(errnop);
	} else if ((c = load_conf(errnop)) == NULL) {
		s = conf_failed(errnop);
	} else {
		s = grent_next == 0 ? admin_group(c, gr, buf, buflen, errnop)
		                    : users_group(c, gr, buf, buflen, errnop);
		free(c);
		if (s == NSS_STATUS_SUCCESS)
			grent_next++;
	}
	pthread_mutex_unlock(&grent_lock);
	return s;
}
