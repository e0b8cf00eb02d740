/* role_cache.c - a small, locked, time-limited table of role definitions. */
#include "role_cache.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void role_cache_init(struct role_cache *c)
{
	pthread_mutex_init(&c->lock, NULL);
	c->items = NULL;
	c->count = 0;
}

void role_cache_destroy(struct role_cache *c)
{
	free(c->items);
	c->items = NULL;
	c->count = 0;
	pthread_mutex_destroy(&c->lock);
}

void *role_cache_new(void)
{
	struct role_cache *c = malloc(sizeof(*c));

	if (c != NULL)
		role_cache_init(c);
	return c;
}

void role_cache_free(void *c)
{
	if (c == NULL)
		return;
	role_cache_destroy(c);
	free(c);
}

static struct role_cache_entry *find(struct role_cache *c, const char *guid)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcasecmp(c->items[i].role.guid, guid) == 0)
			return &c->items[i];
	return NULL;
}

bool role_cache_get(struct role_cache *c, const char *guid, int64_t now, struct rbac_role *out)
{
	struct role_cache_entry *e;
	bool found = false;

	if (c == NULL)
		return false;
	pthread_mutex_lock(&c->lock);
	if ((e = find(c, guid)) != NULL && now < e->expires) {
		*out = e->role;
		found = true;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

void role_cache_put(struct role_cache *c, const struct rbac_role *role, int64_t now)
{
	struct role_cache_entry *e;

	if (c == NULL || role->guid[0] == '\0')
		return;
	pthread_mutex_lock(&c->lock);
	if (c->items == NULL && (c->items = calloc(ROLE_CACHE_MAX, sizeof(*c->items))) == NULL)
		goto out;
	if ((e = find(c, role->guid)) == NULL) {
		if (c->count < ROLE_CACHE_MAX) {
			e = &c->items[c->count++];
		} else {
			e = &c->items[0];
			for (size_t i = 1; i < c->count; i++)
				if (c->items[i].expires < e->expires)
					e = &c->items[i];
		}
	}
	e->role = *role;
	e->expires = now + ROLE_CACHE_TTL;
out:
	pthread_mutex_unlock(&c->lock);
}
