"""Get a token with Python azure-identity the way an unmodified app does:
    get_token.py CREDENTIAL SCOPE [client_id=ID | resource_id=ARMID | object_id=ID]
CREDENTIAL is "managed" (ManagedIdentityCredential) or "default"
(DefaultAzureCredential).  The endpoint comes from IDENTITY_ENDPOINT and
IDENTITY_HEADER.  Prints {"token": ..., "expires_on": ...}."""

import json
import sys

from azure.identity import DefaultAzureCredential, ManagedIdentityCredential


def main(argv):
    kind, scope = argv[0], argv[1]
    kw = {}
    for a in argv[2:]:
        k, _, v = a.partition("=")
        if k == "client_id":
            kw["client_id"] = v
        else:
            kw["identity_config"] = {{"resource_id": "mi_res_id", "object_id": "object_id"}[k]: v}
    if kind == "default":
        if "client_id" in kw:
            kw = {"managed_identity_client_id": kw["client_id"]}
        cred = DefaultAzureCredential(exclude_shared_token_cache_credential=True,
                                      exclude_visual_studio_code_credential=True, **kw)
    else:
        cred = ManagedIdentityCredential(**kw)
    tok = cred.get_token(scope)
    print(json.dumps({"token": tok.token, "expires_on": tok.expires_on}))


if __name__ == "__main__":
    main(sys.argv[1:])
