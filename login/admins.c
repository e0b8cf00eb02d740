/* admins.c - the admin group's members, kept in a root-owned state file. */
#include "admins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "principal.h"
#include "statefile.h"

void admins_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool admins_has(const struct name_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

static int list_add(struct name_list *l, const char *name)
{
	char **v = reallocarray(l->v, l->n + 1, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	if ((l->v[l->n] = strdup(name)) == NULL)
		return -ENOMEM;
	l->n++;
	return 0;
}

static int admins_load_at(int dirfd, struct name_list *l)
{
	char *text, *line, *next;
	size_t len;
	int r = sfile_read(dirfd, ADMINS_FILE, ADMINS_MAX, false, &text, &len);

	l->v = NULL;
	l->n = 0;
	if (r == -ENOENT)
		return 0;
	if (r != 0)
		return r;
	for (line = text; line != NULL && *line && r == 0; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (principal_name_ok(line) && !admins_has(l, line))
			r = list_add(l, line);
	}
	free(text);
	if (r != 0)
		admins_free(l);
	return r;
}

int admins_load(struct name_list *l)
{
	int dirfd, r = sfile_state_dir(false, &dirfd);

	l->v = NULL;
	l->n = 0;
	if (r == -ENOENT)
		return 0;
	if (r != 0)
		return r;
	r = admins_load_at(dirfd, l);
	close(dirfd);
	return r;
}

static int admins_write(int dirfd, const struct name_list *l, const char *skip)
{
	size_t len = 0;
	char *text, *p;
	int r;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	if ((text = malloc(len + 1)) == NULL)
		return -ENOMEM;
	p = text;
	for (size_t i = 0; i < l->n; i++) {
		if (skip != NULL && strcmp(l->v[i], skip) == 0)
			continue;
		size_t n = strlen(l->v[i]);
		memcpy(p, l->v[i], n);
		p[n] = '\n';
		p += n + 1;
	}
	r = sfile_write(dirfd, ADMINS_FILE, 0644, text, (size_t)(p - text));
	free(text);
	return r;
}

int admins_set(const char *name, bool member, bool *changed)
{
	struct name_list l = {0};
	int dirfd = -1, lockfd = -1, r;

	*changed = false;
	if (!principal_name_ok(name))
		return -EINVAL;
	if ((r = sfile_state_dir(true, &dirfd)) != 0 || (r = sfile_lock(dirfd, ADMINS_LOCK, &lockfd)) != 0 ||
	    (r = admins_load_at(dirfd, &l)) != 0)
		goto out;
	if (admins_has(&l, name) == member)
		goto out;
	if (member && (r = list_add(&l, name)) != 0)
		goto out;
	r = admins_write(dirfd, &l, member ? NULL : name);
	*changed = r == 0;
out:
	admins_free(&l);
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}
