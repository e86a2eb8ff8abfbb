#!/usr/bin/env bash
# Grants the IamFulfillment identity the Microsoft Graph application permissions it needs, and no
# others. Idempotent: permissions already granted are left alone; re-run it after every change.
#
# Run it as a Privileged Role Administrator (or Global Administrator) after `az login`:
#   infra/scripts/grant-graph-permissions.sh                      # values from `azd env get-value`
#   infra/scripts/grant-graph-permissions.sh --principal-id <object id> --mail-sender iam@contoso.com
#
# Options
#   --principal-id ID     Object id of the service principal (AZURE_MANAGED_IDENTITY_PRINCIPAL_ID).
#   --mail-sender UPN     Mailbox the app sends from (GRAPH_MAIL_SENDER). Without it, no mail permission.
#   --mail-scope MODE     How Mail.Send is limited to that one mailbox:
#                           rbac          (default) Exchange Online RBAC for Applications. Mail.Send is
#                                         NOT granted in Entra ID: an Entra grant is tenant-wide and
#                                         would make the Exchange scope pointless.
#                           access-policy Legacy: grant Mail.Send in Entra ID and restrict it with an
#                                         Exchange application access policy.
#   --revoke-extra        Remove every other Graph application permission the principal holds.
#   --dry-run             Show what would change; change nothing.
#
# Exit codes: 0 done; 1 usage or lookup error; 3 the principal holds a forbidden permission
# (directory-role management and the like) and --revoke-extra was not given.
set -euo pipefail

readonly GRAPH_APP_ID='00000003-0000-0000-c000-000000000000'

# Least privilege per operation (infra/README.md has the table).
readonly WANTED=(
  'User.Read.All'                          # read users, manager, group memberships
  'GroupMember.ReadWrite.All'              # add and remove group members (not Group.ReadWrite.All)
  'User.EnableDisableAccount.All'          # disable leavers (with User.Read.All)
  'User.RevokeSessions.All'                # revoke sign-in sessions
  'UserAuthenticationMethod.ReadWrite.All' # issue Temporary Access Passes, remove MFA methods
)

# Never granted to this principal, whatever someone adds to WANTED later.
readonly FORBIDDEN_REGEX='^(RoleManagement\..*|Directory\.ReadWrite\.All|Directory\.AccessAsUser\.All|AppRoleAssignment\.ReadWrite\.All|Application\.ReadWrite\..*|Group\.ReadWrite\.All|User\.ReadWrite\.All|PrivilegedAccess\..*|PrivilegedAssignmentSchedule\..*|PrivilegedEligibilitySchedule\..*|Policy\.ReadWrite\..*)$'

principal_id=''
mail_sender=''
mail_scope='rbac'
revoke_extra=0
dry_run=0

die() { echo "error: $*" >&2; exit 1; }
say() { echo "$*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --principal-id) principal_id="${2:?--principal-id needs a value}"; shift 2 ;;
    --mail-sender) mail_sender="${2:?--mail-sender needs a value}"; shift 2 ;;
    --mail-scope) mail_scope="${2:?--mail-scope needs a value}"; shift 2 ;;
    --revoke-extra) revoke_extra=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done

case "$mail_scope" in rbac|access-policy) ;; *) die "--mail-scope must be rbac or access-policy" ;; esac
command -v az >/dev/null || die "the Azure CLI (az) is required"

# Empty when azd is missing or the key is not set (azd may print its error on stdout).
azd_value() {
  local value
  command -v azd >/dev/null 2>&1 || return 0
  if value="$(azd env get-value "$1" 2>/dev/null)"; then printf '%s' "$value"; fi
}
contains() {
  local needle="$1" item
  shift
  for item in "$@"; do [ "$item" = "$needle" ] && return 0; done
  return 1
}
[ -n "$principal_id" ] || principal_id="$(azd_value AZURE_MANAGED_IDENTITY_PRINCIPAL_ID)"
[ -n "$mail_sender" ] || mail_sender="$(azd_value GRAPH_MAIL_SENDER)"
[ -n "$principal_id" ] || die "no principal: pass --principal-id or run from an azd environment"

for permission in "${WANTED[@]}"; do
  if [[ "$permission" =~ $FORBIDDEN_REGEX ]]; then die "refusing to grant forbidden permission $permission"; fi
done

graph="$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv)"
graph="${graph%/}/v1.0"

# A just-created managed identity can take a minute to replicate to Microsoft Graph.
principal=''
for attempt in 1 2 3 4 5 6; do
  principal="$(az rest --method get --url "$graph/servicePrincipals/$principal_id?\$select=id,appId,displayName,servicePrincipalType" \
    --query '[appId, displayName, servicePrincipalType]' -o tsv 2>/dev/null || true)"
  [ -n "$principal" ] && break
  if [ "$attempt" -lt 6 ]; then say "Service principal $principal_id not visible yet; retrying in 10 s..."; sleep 10; fi
done
[ -n "$principal" ] || die "service principal $principal_id not found in Microsoft Graph"
IFS=$'\t' read -r principal_app_id principal_name principal_type <<<"$principal"
say "Principal: $principal_name ($principal_type), object id $principal_id, app id $principal_app_id"

case "$principal_type" in
  ManagedIdentity) ;;
  Application)
    # Outside Azure the standalone host may use an app registration: certificates only, never secrets.
    secrets="$(az rest --method get --url "$graph/applications(appId='$principal_app_id')?\$select=passwordCredentials" \
      --query 'length(passwordCredentials)' -o tsv)"
    [ "${secrets:-0}" = "0" ] || die "app registration $principal_app_id has $secrets client secret(s); remove them and use a certificate"
    ;;
  *) die "unexpected service principal type $principal_type" ;;
esac

graph_sp="$(az rest --method get --url "$graph/servicePrincipals(appId='$GRAPH_APP_ID')?\$select=id" --query id -o tsv)"
# value<TAB>id for every application permission Microsoft Graph offers.
roles="$(az rest --method get --url "$graph/servicePrincipals(appId='$GRAPH_APP_ID')?\$select=appRoles" \
  --query "appRoles[?contains(allowedMemberTypes, 'Application')].[value, id]" -o tsv)"
role_id() { awk -F'\t' -v v="$1" '$1 == v { print $2 }' <<<"$roles"; }
role_value() { awk -F'\t' -v i="$1" '$2 == i { print $1 }' <<<"$roles"; }

# appRoleId<TAB>assignmentId of the Graph permissions the principal holds now.
held="$(az rest --method get --url "$graph/servicePrincipals/$principal_id/appRoleAssignments" \
  --query "value[?resourceId=='$graph_sp'].[appRoleId, id]" -o tsv)"

wanted=("${WANTED[@]}")
if [ -n "$mail_sender" ] && [ "$mail_scope" = 'access-policy' ]; then wanted+=('Mail.Send'); fi

for permission in "${wanted[@]}"; do
  id="$(role_id "$permission")"
  [ -n "$id" ] || die "Microsoft Graph has no application permission named $permission"
  if awk -F'\t' -v i="$id" '$1 == i { found = 1 } END { exit !found }' <<<"$held"; then
    say "  = $permission (already granted)"
  elif [ "$dry_run" -eq 1 ]; then
    say "  + $permission (would grant)"
  else
    az rest --method post --url "$graph/servicePrincipals/$principal_id/appRoleAssignments" \
      --headers 'Content-Type=application/json' \
      --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$graph_sp\",\"appRoleId\":\"$id\"}" \
      --output none
    say "  + $permission (granted)"
  fi
done

# Anything else the principal holds on Graph is drift; forbidden permissions fail the run.
forbidden_held=0
while IFS=$'\t' read -r held_role assignment; do
  [ -n "$held_role" ] || continue
  value="$(role_value "$held_role")"
  value="${value:-$held_role}"
  if contains "$value" "${wanted[@]}"; then continue; fi
  if [ "$value" = 'Mail.Send' ] && [ -n "$mail_sender" ] && [ "$mail_scope" = 'rbac' ]; then
    say "  ! Mail.Send is granted in Entra ID: that grant is tenant-wide and adds to the Exchange RBAC scope, defeating it."
  fi
  if [ "$revoke_extra" -eq 1 ]; then
    if [ "$dry_run" -eq 1 ]; then
      say "  - $value (would revoke)"
    else
      az rest --method delete --url "$graph/servicePrincipals/$principal_id/appRoleAssignments/$assignment" --output none
      say "  - $value (revoked)"
    fi
  elif [[ "$value" =~ $FORBIDDEN_REGEX ]]; then
    say "  ! $value is FORBIDDEN for this principal; re-run with --revoke-extra"
    forbidden_held=3
  else
    say "  ? $value is not needed; re-run with --revoke-extra to remove it"
  fi
done <<<"$held"

if [ -z "$mail_sender" ]; then
  say "No mail sender: Mail.Send not granted. Set GRAPH_MAIL_SENDER (azd env set) and re-run to enable mail."
elif [ "$mail_scope" = 'rbac' ]; then
  cat <<EOF

Mail.Send for $mail_sender only: in Exchange Online PowerShell (Connect-ExchangeOnline, as an
Exchange Administrator), run once:

  New-ServicePrincipal -AppId $principal_app_id -ObjectId $principal_id -DisplayName "$principal_name"
  New-ManagementScope -Name "IamFulfillment mail sender" -RecipientRestrictionFilter "PrimarySmtpAddress -eq '$mail_sender'"
  New-ManagementRoleAssignment -Name "IamFulfillment Mail.Send" -App $principal_app_id -Role "Application Mail.Send" -CustomResourceScope "IamFulfillment mail sender"
  Test-ServicePrincipalAuthorization -Identity $principal_app_id -Resource $mail_sender
EOF
else
  cat <<EOF

Mail.Send is granted tenant-wide; restrict it to $mail_sender now. In Exchange Online PowerShell,
with a mail-enabled security group (e.g. iamf-mail-senders) whose only member is that mailbox:

  New-ApplicationAccessPolicy -AppId $principal_app_id -PolicyScopeGroupId iamf-mail-senders -AccessRight RestrictAccess -Description "IamFulfillment may send only as $mail_sender"
  Test-ApplicationAccessPolicy -Identity $mail_sender -AppId $principal_app_id
EOF
fi

exit "$forbidden_held"
