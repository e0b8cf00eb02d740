/*
 * config.h - the configuration file (/etc/azmi.conf, "key = value" lines) and
 * the settings the core derives from it and from the environment.
 * Precedence: built-in defaults, then the file, then the environment.
 */
#ifndef AZMI_CONFIG_H
#define AZMI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "azmi.h"
#include "error.h"

#define CONFIG_DEFAULT_PATH "/etc/azmi.conf"
#define CONFIG_MAX_BYTES    (64 * 1024)
#define CONFIG_MAX_VALUE    4096

/* One "key = value" line of the file. */
struct config_kv {
	char *key;
	char *value;
	unsigned int line;
	bool used; /* a consumer recognised the key */
};

struct config_file {
	char *path; /* NULL when no file was read */
	struct config_kv *items;
	size_t count;
};

enum azmi_cloud { CLOUD_PUBLIC = 0, CLOUD_USGOV, CLOUD_CHINA };

/* Everything the core reads from the file and the environment. */
struct settings {
	char *imds_endpoint; /* base URL; the path is appended */
	bool imds_endpoint_from_env;
	char *ca_file;
	enum azmi_cloud cloud;
	bool cloud_explicit; /* `cloud` was set in the file (else the VM's azEnvironment may choose) */
	long timeout_ms;
	char *cache_dir; /* NULL: the per-user default */
	bool cache_enabled;

	bool use_azure_cli; /* the Azure CLI is a link of the default chain */
	char *proxy;        /* `proxy` of the file for remote requests: a URL, "" for none; NULL unset */
	/*
	 * The environment may steer this process: proxies libcurl would read
	 * with plain getenv, the Azure CLI found on PATH.  False in a setuid or
	 * otherwise AT_SECURE process, and in logins (pam_azmi, check-login),
	 * where the environment is the caller's.
	 */
	bool env_trusted;
	char *authority_host; /* https base URL of Entra (AZURE_AUTHORITY_HOST or the cloud's) */

	/* Logins: where Azure RBAC is asked (https only, no trailing slash). */
	char *arm_endpoint; /* arm_endpoint, else the cloud's Resource Manager */
	bool arm_endpoint_explicit;
	char *graph_endpoint; /* graph_endpoint, else the cloud's Microsoft Graph */
	bool graph_endpoint_explicit;

	/* From the environment, read once at context creation.  Secrets are wiped on free. */
	char *azure_client_id;            /* AZURE_CLIENT_ID */
	char *identity_endpoint;          /* IDENTITY_ENDPOINT */
	char *identity_header;            /* IDENTITY_HEADER (secret) */
	char *identity_server_thumbprint; /* IDENTITY_SERVER_THUMBPRINT (Service Fabric) */
	char *msi_endpoint;               /* MSI_ENDPOINT (Azure ML, App Service 2017, Cloud Shell) */
	char *msi_secret;                 /* MSI_SECRET (secret) */
	char *default_identity_client_id; /* DEFAULT_IDENTITY_CLIENT_ID (Azure ML) */
	char *arc_imds_endpoint;          /* IMDS_ENDPOINT (Azure Arc) */
	char *tenant_id;                  /* AZURE_TENANT_ID */
	char *client_secret;              /* AZURE_CLIENT_SECRET (secret) */
	char *client_cert_path;           /* AZURE_CLIENT_CERTIFICATE_PATH */
	char *client_cert_password;       /* AZURE_CLIENT_CERTIFICATE_PASSWORD (secret) */
	bool send_cert_chain;             /* AZURE_CLIENT_SEND_CERTIFICATE_CHAIN */
	char *federated_token_file;       /* AZURE_FEDERATED_TOKEN_FILE */
	bool user_password;               /* AZURE_USERNAME or AZURE_PASSWORD is set (refused; never kept) */
	bool regional_authority;          /* AZURE_REGIONAL_AUTHORITY_NAME is set (refused for Entra) */
	char *token_credentials;          /* AZURE_TOKEN_CREDENTIALS */
};

/*
 * Parse configuration text.  Blank lines and lines starting with '#' are
 * skipped; everything else must be "key = value".  `name` is used in errors.
 */
AZMI_MUST_CHECK azmi_err config_parse(struct config_file *cf, const char *name, const char *text, size_t len,
                                      struct azmi_error *err);

/*
 * Read and parse a file safely: not a symlink, a regular file, owned by root
 * or the caller, not writable by group or others, at most CONFIG_MAX_BYTES.
 * A missing file is fine unless `required`.
 */
AZMI_MUST_CHECK azmi_err config_read(struct config_file *cf, const char *path, bool required,
                                     struct azmi_error *err);

void config_file_free(struct config_file *cf);

/* The value of `key` (last one wins), marking it used; NULL when absent. */
const char *config_get(struct config_file *cf, const char *key);

/* Fill `s` from defaults, the file and the environment; validates every value. */
AZMI_MUST_CHECK azmi_err settings_load(struct settings *s, struct config_file *cf, struct azmi_error *err);

void settings_free(struct settings *s);

/* "AzureCloud", "AzureUSGovernment" or "AzureChinaCloud" into *out: true, or false for anything else. */
bool settings_parse_cloud(const char *name, enum azmi_cloud *out);

/* The cloud's default Resource Manager and Microsoft Graph base URLs (also their token audiences). */
const char *settings_cloud_arm(enum azmi_cloud cloud);
const char *settings_cloud_graph(enum azmi_cloud cloud);

/*
 * The proxy of a remote request (Entra, Resource Manager, Graph, registries,
 * the tenant's keys): the file's `proxy` when set ("" for none); otherwise
 * NULL (libcurl's environment rules) where the environment is trusted, and
 * "" (no proxy at all) where it is not.  IMDS-like endpoints never use one.
 */
const char *settings_proxy(const struct settings *s);

/* Keys that other parts of azmi read; not reported as unknown by the core. */
bool config_key_is_known(const char *key);

#endif
