/* config.c - reading /etc/azmi.conf safely and turning it into settings. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

#define DEFAULT_IMDS_ENDPOINT "http://169.254.169.254"
#define DEFAULT_TIMEOUT_MS    (90 * 1000L)

/*
 * Every key any part of azmi reads, so a typo can be reported: each part's
 * config_keys.def, joined by the build.  The whole list is compiled in (not
 * registered at run time), so a program that links only libazmi accepts the
 * login, registry and curl keys of a shared azmi.conf without a warning.
 */
static const char *const known_keys[] = {
#define CONFIG_KEY(name)        #name,
#define CONFIG_KEY_DIRECT(name) #name,
#include "config_keys_all.def"
#undef CONFIG_KEY
#undef CONFIG_KEY_DIRECT
};

bool config_key_is_known(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++)
		if (strcmp(known_keys[i], key) == 0)
			return true;
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Printable ASCII, tabs, and a CR before the newline; nothing else. */
static bool line_is_text(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (!(c == '\t' || (c >= 0x20 && c <= 0x7e) || (c == '\r' && i + 1 == len)))
			return false;
	}
	return true;
}

static azmi_err config_add(struct config_file *cf, const char *k, size_t klen, const char *v, size_t vlen,
                           unsigned int line)
{
	struct config_kv *items = reallocarray(cf->items, cf->count + 1, sizeof(*items));

	if (items == NULL)
		return AZMI_ERR_NOMEM;
	cf->items = items;
	items[cf->count].key = strndup(k, klen);
	items[cf->count].value = strndup(v, vlen);
	items[cf->count].line = line;
	items[cf->count].used = false;
	if (items[cf->count].key == NULL || items[cf->count].value == NULL) {
		free(items[cf->count].key);
		free(items[cf->count].value);
		return AZMI_ERR_NOMEM;
	}
	cf->count++;
	return AZMI_OK;
}

azmi_err config_parse(struct config_file *cf, const char *name, const char *text, size_t len,
                      struct azmi_error *err)
{
	unsigned int lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		size_t i = 0, kstart, kend, vend;

		pos += llen + (nl ? 1 : 0);
		lineno++;
		while (i < llen && is_space(line[i]))
			i++;
		if (i == llen || line[i] == '#')
			continue;
		if (!line_is_text(line, llen))
			return err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s:%u: control characters in line",
			               name, lineno);
		kstart = i;
		while (i < llen && is_key_char(line[i]))
			i++;
		kend = i;
		while (i < llen && is_space(line[i]))
			i++;
		if (kend == kstart || i == llen || line[i] != '=')
			return err_set(
			    err, AZMI_ERR_CONFIG, "config", 0,
			    "%s:%u: expected \"key = value\" (keys are lower case letters, digits and _)",
			    name, lineno);
		i++;
		while (i < llen && is_space(line[i]))
			i++;
		vend = llen;
		while (vend > i && is_space(line[vend - 1]))
			vend--;
		if (vend - i > CONFIG_MAX_VALUE)
			return err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s:%u: value longer than %d bytes",
			               name, lineno, CONFIG_MAX_VALUE);
		if (config_add(cf, line + kstart, kend - kstart, line + i, vend - i, lineno) != AZMI_OK)
			return err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory reading %s", name);
	}
	return AZMI_OK;
}

azmi_err config_read(struct config_file *cf, const char *path, bool required, struct azmi_error *err)
{
	struct stat st;
	char *text = NULL;
	ssize_t n;
	azmi_err r = AZMI_ERR_CONFIG;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		if (errno == ENOENT && !required)
			return AZMI_OK;
		if (errno == ELOOP)
			return err_set(err, AZMI_ERR_CONFIG, "config", 0,
			               "%s: is a symbolic link; refusing it", path);
		return err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s: cannot open: %s", path,
		               strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		err_set(err, AZMI_ERR_CONFIG, "config", 0,
		        "%s: owned by uid %u, not root or uid %u; refusing it", path, (unsigned)st.st_uid,
		        (unsigned)geteuid());
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		err_set(err, AZMI_ERR_CONFIG, "config", 0,
		        "%s: writable by group or others (mode %04o); refusing it (chmod go-w)", path,
		        (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s: larger than %d bytes", path,
		        CONFIG_MAX_BYTES);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		r = err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
		goto out;
	}
	n = read(fd, text, (size_t)st.st_size + 1);
	if (n >= 0 && n <= st.st_size)
		text[n] = '\0';
	if (n < 0 || n > st.st_size) {
		err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s: read failed or file changed while reading",
		        path);
		goto out;
	}
	cf->path = strdup(path);
	if (cf->path == NULL) {
		r = err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
		goto out;
	}
	r = config_parse(cf, path, text, (size_t)n, err);
out:
	free(text);
	close(fd);
	return r;
}

void config_file_free(struct config_file *cf)
{
	for (size_t i = 0; i < cf->count; i++) {
		free(cf->items[i].key);
		free(cf->items[i].value);
	}
	free(cf->items);
	free(cf->path);
	cf->items = NULL;
	cf->count = 0;
	cf->path = NULL;
}

const char *config_get(struct config_file *cf, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < cf->count; i++) {
		if (strcmp(cf->items[i].key, key) == 0) {
			cf->items[i].used = true;
			v = cf->items[i].value;
		}
	}
	return v;
}

static bool valid_endpoint(const char *url)
{
	return (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
	       util_is_printable(url, strlen(url)) && strchr(url, ' ') == NULL && strlen(url) < 2048;
}

static azmi_err set_string(char **dst, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return AZMI_ERR_NOMEM;
	free(*dst);
	*dst = copy;
	return AZMI_OK;
}

static int parse_yes_no(const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static const char *const arm_hosts[] = {"https://management.azure.com",
                                        "https://management.usgovcloudapi.net",
                                        "https://management.chinacloudapi.cn"};
static const char *const graph_hosts[] = {"https://graph.microsoft.com", "https://graph.microsoft.us",
                                          "https://microsoftgraph.chinacloudapi.cn"};

bool settings_parse_cloud(const char *name, enum azmi_cloud *out)
{
	static const char *const names[] = {"AzureCloud", "AzureUSGovernment", "AzureChinaCloud"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum azmi_cloud)i;
			return true;
		}
	}
	return false;
}

const char *settings_cloud_arm(enum azmi_cloud cloud)
{
	return arm_hosts[(unsigned)cloud < ARRAY_SIZE(arm_hosts) ? cloud : CLOUD_PUBLIC];
}

const char *settings_cloud_graph(enum azmi_cloud cloud)
{
	return graph_hosts[(unsigned)cloud < ARRAY_SIZE(graph_hosts) ? cloud : CLOUD_PUBLIC];
}

/*
 * An https base URL from the file (arm_endpoint, graph_endpoint): a host, an
 * optional port, no path, query or credentials, so that tokens for Azure go
 * to exactly that origin.  The trailing slash is dropped.
 */
static azmi_err https_base(char **dst, const char *value, const char *key, const char *where,
                           struct azmi_error *err)
{
	size_t len = strlen(value);
	const char *host = value + 8;

	while (len > 0 && value[len - 1] == '/')
		len--;
	if (len <= 8 || strncmp(value, "https://", 8) != 0 || !valid_endpoint(value) ||
	    strcspn(host, "/?#@\\") < len - 8)
		return err_set(
		    err, AZMI_ERR_CONFIG, "config", 0,
		    "%s: %s must be an https:// URL with a host and no path (tokens are never sent over "
		    "plain http)",
		    where, key);
	free(*dst);
	if ((*dst = strndup(value, len)) == NULL)
		return err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
	return AZMI_OK;
}

static azmi_err settings_endpoints(struct settings *s, struct config_file *cf, const char *where,
                                   struct azmi_error *err)
{
	const char *v;
	azmi_err r;

	if ((v = config_get(cf, "arm_endpoint")) != NULL) {
		if ((r = https_base(&s->arm_endpoint, v, "arm_endpoint", where, err)) != AZMI_OK)
			return r;
		s->arm_endpoint_explicit = true;
	} else if (set_string(&s->arm_endpoint, settings_cloud_arm(s->cloud))) {
		return err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
	}
	if ((v = config_get(cf, "graph_endpoint")) != NULL) {
		if ((r = https_base(&s->graph_endpoint, v, "graph_endpoint", where, err)) != AZMI_OK)
			return r;
		s->graph_endpoint_explicit = true;
	} else if (set_string(&s->graph_endpoint, settings_cloud_graph(s->cloud))) {
		return err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
	}
	return AZMI_OK;
}

static azmi_err settings_from_file(struct settings *s, struct config_file *cf, struct azmi_error *err)
{
	const char *v;
	const char *where = cf->path ? cf->path : "configuration";
	int64_t n;

	if ((v = config_get(cf, "imds_endpoint")) != NULL) {
		if (set_string(&s->imds_endpoint, v))
			return AZMI_ERR_NOMEM;
		/* The trailing slash of a base URL would double the path separator. */
		for (size_t len = strlen(s->imds_endpoint); len > 0 && s->imds_endpoint[len - 1] == '/';
		     len--)
			s->imds_endpoint[len - 1] = '\0';
		if (!valid_endpoint(s->imds_endpoint) || strstr(s->imds_endpoint, "://")[3] == '\0')
			return err_set(err, AZMI_ERR_CONFIG, "config", 0,
			               "%s: imds_endpoint must be an http:// or https:// URL", where);
	}
	if ((v = config_get(cf, "ca_file")) != NULL && set_string(&s->ca_file, v))
		return AZMI_ERR_NOMEM;
	if ((v = config_get(cf, "cache_dir")) != NULL) {
		if (v[0] != '/')
			return err_set(err, AZMI_ERR_CONFIG, "config", 0,
			               "%s: cache_dir must be an absolute path", where);
		if (set_string(&s->cache_dir, v))
			return AZMI_ERR_NOMEM;
	}
	if ((v = config_get(cf, "cache")) != NULL && parse_yes_no(v, &s->cache_enabled) != 0)
		return err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s: cache must be yes or no", where);
	if ((v = config_get(cf, "use_azure_cli")) != NULL && parse_yes_no(v, &s->use_azure_cli) != 0)
		return err_set(err, AZMI_ERR_CONFIG, "config", 0, "%s: use_azure_cli must be yes or no",
		               where);
	if ((v = config_get(cf, "proxy")) != NULL) {
		bool none = strcmp(v, "none") == 0;
		if (!none &&
		    !(valid_endpoint(v) ||
		      ((strncmp(v, "socks5://", 9) == 0 || strncmp(v, "socks5h://", 10) == 0) &&
		       util_is_printable(v, strlen(v)) && strchr(v, ' ') == NULL && strlen(v) < 2048)))
			return err_set(
			    err, AZMI_ERR_CONFIG, "config", 0,
			    "%s: proxy must be an http://, https://, socks5:// or socks5h:// URL, or none",
			    where);
		if (set_string(&s->proxy, none ? "" : v))
			return AZMI_ERR_NOMEM;
	}
	if ((v = config_get(cf, "timeout")) != NULL) {
		if (!util_parse_int64(v, strlen(v), 1, 3600, &n))
			return err_set(err, AZMI_ERR_CONFIG, "config", 0,
			               "%s: timeout must be a whole number of seconds from 1 to 3600", where);
		s->timeout_ms = (long)n * 1000;
	}
	if ((v = config_get(cf, "cloud")) != NULL) {
		if (!settings_parse_cloud(v, &s->cloud))
			return err_set(err, AZMI_ERR_CONFIG, "config", 0,
			               "%s: cloud must be AzureCloud, AzureUSGovernment or AzureChinaCloud",
			               where);
		s->cloud_explicit = true;
	}
	return settings_endpoints(s, cf, where, err);
}

/* Entra's host: AZURE_AUTHORITY_HOST (https only, no trailing slash) or the cloud's. */
static azmi_err authority_check(struct settings *s, struct azmi_error *err)
{
	static const char *const hosts[] = {"https://login.microsoftonline.com",
	                                    "https://login.microsoftonline.us",
	                                    "https://login.chinacloudapi.cn"};
	size_t len;

	if (s->authority_host == NULL)
		return set_string(&s->authority_host, hosts[s->cloud]) ? AZMI_ERR_NOMEM : AZMI_OK;
	len = strlen(s->authority_host);
	while (len > 0 && s->authority_host[len - 1] == '/')
		s->authority_host[--len] = '\0';
	if (strncmp(s->authority_host, "https://", 8) != 0 || !valid_endpoint(s->authority_host))
		return err_set(
		    err, AZMI_ERR_CONFIG, "config", 0,
		    "AZURE_AUTHORITY_HOST must be an https:// URL (tokens are never asked for over plain "
		    "http)");
	return AZMI_OK;
}

/* Copy an environment variable (ignored in setuid programs) when set and non-empty. */
static azmi_err env_copy(char **dst, const char *name)
{
	const char *v = secure_getenv(name);

	if (v == NULL || v[0] == '\0')
		return AZMI_OK;
	return set_string(dst, v);
}

static bool env_set(const char *name)
{
	const char *v = secure_getenv(name);

	return v != NULL && v[0] != '\0';
}

static azmi_err settings_from_env(struct settings *s, struct azmi_error *err)
{
	char *pod = NULL;

	static const struct {
		const char *name;
		size_t offset;
	} vars[] = {
	    {"AZMI_CA_FILE", offsetof(struct settings, ca_file)},
	    {"AZMI_CACHE_DIR", offsetof(struct settings, cache_dir)},
	    {"AZURE_CLIENT_ID", offsetof(struct settings, azure_client_id)},
	    {"IDENTITY_ENDPOINT", offsetof(struct settings, identity_endpoint)},
	    {"IDENTITY_HEADER", offsetof(struct settings, identity_header)},
	    {"IDENTITY_SERVER_THUMBPRINT", offsetof(struct settings, identity_server_thumbprint)},
	    {"MSI_ENDPOINT", offsetof(struct settings, msi_endpoint)},
	    {"MSI_SECRET", offsetof(struct settings, msi_secret)},
	    {"DEFAULT_IDENTITY_CLIENT_ID", offsetof(struct settings, default_identity_client_id)},
	    {"IMDS_ENDPOINT", offsetof(struct settings, arc_imds_endpoint)},
	    {"AZURE_TENANT_ID", offsetof(struct settings, tenant_id)},
	    {"AZURE_CLIENT_SECRET", offsetof(struct settings, client_secret)},
	    {"AZURE_CLIENT_CERTIFICATE_PATH", offsetof(struct settings, client_cert_path)},
	    {"AZURE_CLIENT_CERTIFICATE_PASSWORD", offsetof(struct settings, client_cert_password)},
	    {"AZURE_FEDERATED_TOKEN_FILE", offsetof(struct settings, federated_token_file)},
	    {"AZURE_AUTHORITY_HOST", offsetof(struct settings, authority_host)},
	    {"AZURE_TOKEN_CREDENTIALS", offsetof(struct settings, token_credentials)},
	};
	const char *chain;

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		if (env_copy((char **)((char *)s + vars[i].offset), vars[i].name))
			return err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
	if (env_copy(&pod, "AZURE_POD_IDENTITY_AUTHORITY_HOST"))
		return err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
	s->user_password = env_set("AZURE_USERNAME") || env_set("AZURE_PASSWORD");
	s->regional_authority = env_set("AZURE_REGIONAL_AUTHORITY_NAME");
	chain = secure_getenv("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN");
	s->send_cert_chain = chain && (strcmp(chain, "1") == 0 || strcasecmp(chain, "true") == 0);
	if (pod != NULL) {
		size_t len = strlen(pod);
		while (len > 0 && pod[len - 1] == '/')
			pod[--len] = '\0';
		if (!valid_endpoint(pod) || strstr(pod, "://")[3] == '\0') {
			free(pod);
			return err_set(
			    err, AZMI_ERR_CONFIG, "config", 0,
			    "AZURE_POD_IDENTITY_AUTHORITY_HOST must be an http:// or https:// URL");
		}
		free(s->imds_endpoint);
		s->imds_endpoint = pod;
		s->imds_endpoint_from_env = true;
	}
	if (s->cache_dir != NULL && s->cache_dir[0] != '/')
		return err_set(err, AZMI_ERR_CONFIG, "config", 0, "AZMI_CACHE_DIR must be an absolute path");
	if (s->identity_endpoint != NULL && !valid_endpoint(s->identity_endpoint))
		return err_set(err, AZMI_ERR_CONFIG, "config", 0,
		               "IDENTITY_ENDPOINT must be an http(s):// URL");
	if (s->msi_endpoint != NULL && !valid_endpoint(s->msi_endpoint))
		return err_set(err, AZMI_ERR_CONFIG, "config", 0, "MSI_ENDPOINT must be an http(s):// URL");
	return authority_check(s, err);
}

azmi_err settings_load(struct settings *s, struct config_file *cf, struct azmi_error *err)
{
	azmi_err r;

	memset(s, 0, sizeof(*s));
	s->timeout_ms = DEFAULT_TIMEOUT_MS;
	s->cache_enabled = true;
	s->cloud = CLOUD_PUBLIC;
	s->env_trusted = getauxval(AT_SECURE) == 0;
	if (set_string(&s->imds_endpoint, DEFAULT_IMDS_ENDPOINT))
		return err_set(err, AZMI_ERR_NOMEM, "config", 0, "out of memory");
	if ((r = settings_from_file(s, cf, err)) != AZMI_OK)
		return r;
	return settings_from_env(s, err);
}

const char *settings_proxy(const struct settings *s)
{
	if (s->proxy != NULL)
		return s->proxy;
	return s->env_trusted ? NULL : "";
}

void settings_free(struct settings *s)
{
	char **plain[] = {&s->imds_endpoint,
	                  &s->ca_file,
	                  &s->proxy,
	                  &s->cache_dir,
	                  &s->authority_host,
	                  &s->arm_endpoint,
	                  &s->graph_endpoint,
	                  &s->azure_client_id,
	                  &s->identity_endpoint,
	                  &s->identity_server_thumbprint,
	                  &s->msi_endpoint,
	                  &s->default_identity_client_id,
	                  &s->arc_imds_endpoint,
	                  &s->tenant_id,
	                  &s->client_cert_path,
	                  &s->federated_token_file,
	                  &s->token_credentials};

	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		free(*plain[i]);
	util_free_secret(s->identity_header);
	util_free_secret(s->msi_secret);
	util_free_secret(s->client_secret);
	util_free_secret(s->client_cert_password);
	memset(s, 0, sizeof(*s));
}
