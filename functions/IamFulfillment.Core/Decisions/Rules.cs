namespace IamFulfillment.Core.Decisions;

/// <summary>Rule identifiers recorded with every decision: the audit trail says which rule decided.</summary>
public static class Rules
{
    public const string Incomplete = "request.incomplete";
    public const string ApprovalRejected = "approval.rejected";
    public const string ApprovalPending = "approval.pending";
    public const string ApprovalMissing = "approval.missing";
    public const string ApprovalStale = "approval.stale";
    public const string ApprovalSelf = "approval.self";
    public const string ApprovalManagerOwnRequest = "approval.manager-own-request";
    public const string ApprovalSamePersonTwoStages = "approval.same-person-two-stages";
    public const string ApprovalDelegateNotAllowed = "approval.delegate-not-allowed";
    public const string ApprovalWrongApprover = "approval.wrong-approver";
    public const string ApprovalApproverDisabled = "approval.approver-disabled";
    public const string ApprovalUnverifiedApprover = "approval.unmapped-approver";
    public const string OwnerUnknown = "entitlement.owner-unknown";
    public const string TargetProtected = "target.protected-account";
    public const string TargetDisabled = "target.disabled";
    public const string TargetGuestNotAllowed = "target.guest-not-allowed";
    public const string TierPrivileged = "tier.privileged";
    public const string NestedInPrivileged = "tier.nested-in-privileged";
    public const string ManualEntitlement = "entitlement.manual";
    public const string GroupNotAutomatable = "group.not-automatable";
    public const string GroupNotFound = "group.not-found";
    public const string GroupUnchecked = "group.unchecked";
    public const string SodConflict = "sod.conflict";
    public const string Fulfil = "fulfil.auto";
    public const string FulfilByDecision = "fulfil.security-approved";
    public const string RemovalRequesterNotEntitled = "removal.requester-not-entitled";
    public const string JoinerAccountMissing = "joiner.account-missing";
    public const string JoinerNoBirthright = "joiner.no-birthright-role";
    public const string JoinerRequester = "joiner.requester-not-authorised";
    public const string MoverKeepsSensitive = "mover.sensitive-access-review";
    public const string LeaverRequesterNotHr = "leaver.requester-not-hr";
    public const string LeaverEmployeeNumberMismatch = "leaver.employee-number-mismatch";
    public const string LeaverNotPermitted = "leaver.not-permitted";
    public const string MfaEvidence = "mfa.evidence";
    public const string MfaProtectedTarget = "mfa.protected-target";
    public const string MfaAdminTarget = "mfa.admin-target";
    public const string MfaGuestTarget = "mfa.guest-target";
    public const string MfaRepeated = "mfa.repeated-resets";
    public const string MfaNoManager = "mfa.no-verified-manager";
    public const string SafetyBrake = "safety-brake";
    public const string ProcessingFailure = "processing.failure";
    public const string ChangeNotPermitted = "directory.not-permitted";
    public const string UnsupportedType = "request.unsupported-type";
}
