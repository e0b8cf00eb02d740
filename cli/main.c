/* main.c - the azmi command: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "azmi_exec.h"
#include "cli.h"

static const char usage[] =
    "Usage: azmi COMMAND [OPTIONS]\n"
    "Microsoft Entra access tokens from this machine's managed identity.\n"
    "\n"
    "Commands:\n"
    "  token            print an access token (azmi token --resource https://storage.azure.com/)\n"
    "  account get-access-token\n"
    "                   the same in the Azure CLI's shape (--query accessToken -o tsv works)\n"
    "  whoami           show the credential source and the identity's claims (never the token)\n"
    "  doctor           show what azmi detects here and whether a token can be had\n"
    "  acr-token REG    print a token for an Azure container registry (--scope repository:NAME:pull)\n"
    "  ssh-token        a token to answer a VM's SSH prompt, from your az login (--resource api://VM)\n"
    "  serve            a local token endpoint for the Azure SDKs (App Service protocol)\n"
    "  curl ARGS...     run curl with tokens attached for Azure Storage, ARM, Key Vault and ACR\n"
    "  exec -- CMD...   run any libcurl program the same way (LD_PRELOAD of libazmi_curl)\n"
    "  check-login USER show whether pam_azmi would let USER log in here, and why\n"
    "  ssh-ca refresh|show\n"
    "                   sshd's trusted CA file for `az ssh vm` certificates (Entra's keys)\n"
    "  ssh-principals USER CERT\n"
    "                   sshd's AuthorizedPrincipalsCommand for those certificates\n"
    "  help             this text; 'azmi COMMAND --help' for a command's options\n"
    "\n"
    "Exit status: 0 success, 1 internal error, 2 usage or configuration error,\n"
    "3 no credential source here, 4 the endpoint refused (4xx),\n"
    "5 the endpoint failed, timed out or answered nonsense.\n"
    "\n"
    "Environment: AZMI_CONFIG (default /etc/azmi.conf), AZMI_CACHE_DIR, AZMI_CA_FILE,\n"
    "AZURE_CLIENT_ID, AZURE_POD_IDENTITY_AUTHORITY_HOST, IDENTITY_ENDPOINT, IDENTITY_HEADER.\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {{"token", cmd_token},         {"whoami", cmd_whoami},
	            {"doctor", cmd_doctor},       {"acr-token", cmd_acr_token},
	            {"ssh-token", cmd_ssh_token}, {"check-login", cmd_check_login},
	            {"account", cmd_account},     {"serve", cmd_serve},
	            {"ssh-ca", cmd_ssh_ca},       {"ssh-principals", cmd_ssh_principals}};

	if (argc < 2)
		return cli_usage_error("no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("azmi %s\n", AZMI_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "curl") == 0)
		return azmi_exec_main(argc - 2, argv + 2, 1);
	if (strcmp(argv[1], "exec") == 0) {
		int skip = argc > 2 && strcmp(argv[2], "--") == 0 ? 3 : 2;
		if (argc <= skip)
			return cli_usage_error("exec needs a command: azmi exec -- CMD [ARGS...]");
		return azmi_exec_main(argc - skip, argv + skip, 0);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	return cli_usage_error("unknown command '%s'", argv[1]);
}
