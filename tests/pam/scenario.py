"""The Entra directory and Azure RBAC state the PAM, cache, CLI and sshd tests
share, as stand-in configuration (standin_arm.py documents the keys).

One user per case of issue 5, each user@contoso.com:
  alice   Virtual Machine Administrator Login on the VM                 -> admin
  bob     VM User Login on the resource group, through a nested group     -> user
  carol   VM User Login on the subscription (inherited)                   -> user
  mia     VM User Login on a management group above the subscription     -> user
  dave    custom role, dataActions Microsoft.Compute/virtualMachines/*    -> admin (wildcard)
  erin    custom role with notDataActions .../loginAsAdmin/action        -> user
  nina    custom role with notDataActions .../login/action and admin     -> denied
  frank   VM Administrator Login, and a deny assignment on the group     -> denied
  grace   VM User Login with a condition azmi cannot evaluate            -> denied
  heidi   Reader only                                                    -> denied
  ivan    Owner on the subscription, Contributor on the VM               -> denied
  judy    VM User Login behind many other assignments (paging)           -> user
  oscar   not in the directory                                           -> denied (no such user)
"""

import os

ADMIN_ROLE = "1c0163c0-47e6-4577-8991-ea5c82e286e4"
USER_ROLE = "fb879df8-f326-4884-b1cf-06f3ad86be52"
LOGIN = "Microsoft.Compute/virtualMachines/login/action"
LOGIN_ADMIN = "Microsoft.Compute/virtualMachines/loginAsAdmin/action"
WILDCARD_ROLE = "7a1c2b3d-0000-4000-8000-00000000c001"
NDA_USER_ROLE = "7a1c2b3d-0000-4000-8000-00000000c002"
NDA_NONE_ROLE = "7a1c2b3d-0000-4000-8000-00000000c003"


def oid(n):
    return "0f0f0f0f-1111-4222-8333-%012d" % n


USERS = {name: oid(i + 1) for i, name in enumerate(
    ["alice", "bob", "carol", "mia", "dave", "erin", "nina", "frank", "grace", "heidi", "ivan", "judy"])}
G_LOGIN, G_INNER, G_DENIED = oid(101), oid(102), oid(103)

EXPECT = {  # user -> (PAM code, level or None)
    "alice": ("PAM_SUCCESS", "admin"), "bob": ("PAM_SUCCESS", "user"), "carol": ("PAM_SUCCESS", "user"),
    "mia": ("PAM_SUCCESS", "user"), "dave": ("PAM_SUCCESS", "admin"), "erin": ("PAM_SUCCESS", "user"),
    "nina": ("PAM_PERM_DENIED", None), "frank": ("PAM_PERM_DENIED", None), "grace": ("PAM_PERM_DENIED", None),
    "heidi": ("PAM_PERM_DENIED", None), "ivan": ("PAM_PERM_DENIED", None), "judy": ("PAM_SUCCESS", "user"),
    "oscar": ("PAM_PERM_DENIED", None),
}
WHY = {  # what the case proves
    "alice": "direct admin role on the VM", "bob": "user role through a nested group, on the resource group",
    "carol": "inherited from the subscription", "mia": "inherited from a management group",
    "dave": "custom role with a wildcard", "erin": "notDataActions removes admin only",
    "nina": "notDataActions removes the login", "frank": "deny assignment", "grace": "conditional assignment",
    "heidi": "no login role", "ivan": "Owner and Contributor alone", "judy": "paging (nextLink)",
    "oscar": "no such user in Entra ID",
}


def upn(name):
    return name + "@contoso.com"


def config():
    custom = [
        {"id": WILDCARD_ROLE, "roleName": "Contoso VM Operator", "type": "CustomRole",
         "permissions": [{"actions": [], "notActions": [], "dataActions": ["Microsoft.Compute/virtualMachines/*"],
                          "notDataActions": []}]},
        {"id": NDA_USER_ROLE, "roleName": "Contoso Login No Admin", "type": "CustomRole",
         "permissions": [{"actions": [], "notActions": [], "dataActions": ["Microsoft.Compute/*"],
                          "notDataActions": [LOGIN_ADMIN]}]},
        {"id": NDA_NONE_ROLE, "roleName": "Contoso No Login", "type": "CustomRole",
         "permissions": [{"actions": [], "notActions": [], "dataActions": [LOGIN, LOGIN_ADMIN],
                          "notDataActions": ["Microsoft.Compute/virtualMachines/login*"]}]},
    ]
    ra = [
        {"principal_id": USERS["alice"], "role": ADMIN_ROLE, "scope": "vm"},
        {"principal_id": G_LOGIN, "role": USER_ROLE, "scope": "rg", "principal_type": "Group"},
        {"principal_id": USERS["carol"], "role": USER_ROLE, "scope": "subscription"},
        {"principal_id": USERS["mia"], "role": USER_ROLE, "scope": "mg:mg-azmi"},
        {"principal_id": USERS["dave"], "role": WILDCARD_ROLE, "scope": "vm"},
        {"principal_id": USERS["erin"], "role": NDA_USER_ROLE, "scope": "vm"},
        {"principal_id": USERS["nina"], "role": NDA_NONE_ROLE, "scope": "vm"},
        {"principal_id": USERS["frank"], "role": ADMIN_ROLE, "scope": "vm"},
        {"principal_id": USERS["grace"], "role": USER_ROLE, "scope": "vm",
         "condition": "@Resource[Microsoft.Compute/virtualMachines:tags:env] StringEquals 'dev'"},
        {"principal_id": USERS["heidi"], "role": "Reader", "scope": "vm"},
        {"principal_id": USERS["ivan"], "role": "Owner", "scope": "subscription"},
        {"principal_id": USERS["ivan"], "role": "Contributor", "scope": "vm"},
    ]
    ra += [{"principal_id": USERS["judy"], "role": "Reader", "scope": s} for s in ("vm", "rg", "subscription",
                                                                                 "mg:mg-azmi", "root")]
    ra.append({"principal_id": USERS["judy"], "role": USER_ROLE, "scope": "mg:mg-tenant-root"})
    deny = [{"name": "no-logins-for-g-denied", "scope": "rg",
             "permissions": [{"actions": [], "notActions": [], "dataActions": ["Microsoft.Compute/virtualMachines/*"],
                              "notDataActions": []}],
             "principals": [{"id": G_DENIED, "type": "Group"}]}]
    users = [{"id": i, "upn": upn(n)} for n, i in USERS.items()]
    groups = [{"id": G_LOGIN, "name": "vm-logins", "members": [G_INNER]},
              {"id": G_INNER, "name": "vm-logins-inner", "members": [USERS["bob"]]},
              {"id": G_DENIED, "name": "no-vm-logins", "members": [USERS["frank"]]}]
    return {
        "arm": {"role_definitions": custom, "role_assignments": ra, "deny_assignments": deny, "page_size": 2},
        "graph": {"permissions": ["User.Read.All", "GroupMember.Read.All"]},
        "directory": {"users": users, "groups": groups, "service_principals": []},
    }


VM_CACHE = "/run/azmi/vm.info"  # root's cached instance metadata (login/vm_cache.h)


def drop_vm_cache():
    """Forget the machine's cached scope: the next login asks IMDS again."""
    try:
        os.unlink(VM_CACHE)
    except FileNotFoundError:
        pass


def apply(standin):
    """The scenario's directory and RBAC state; the VM's cached scope goes with the old state."""
    standin.reset()
    standin.config(config())
    drop_vm_cache()


def vm_scope(standin):
    c = standin.state()["config"]
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
        c["subscription_id"], c["resource_group"], c["vm_name"])


def arm_path(standin, kind="roleAssignments"):
    return vm_scope(standin) + "/providers/Microsoft.Authorization/" + kind
