using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using static IamFulfillment.Core.Tests.Decisions.Expect;
using static IamFulfillment.Core.Tests.Decisions.Org;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>MfaReset: evidence from the service desk, never for admins, guests or protected people; the pass goes to the verified manager.</summary>
public sealed class MfaResetCases
{
    private static readonly List<DecisionCase> Cases =
    [
        new("Mfa_VerifiedByServiceDesk_IssuesPassToTheManagerFirst",
            s => s.MfaReset(),
            Fulfilled(Step.Tap(), Step.Methods(), Step.Revoke())
                .Verifying("Identity verified by Desmond Doyle (u-desmond) (service desk) using video-call-with-photo-id")
                .Verifying("The Temporary Access Pass goes to the manager per the directory, Mark Miller.")),
        new("Mfa_VerifierIsTarget_Escalates",
            s => s.MfaReset().Verified("video-call-with-photo-id", Alice, Now.AddMinutes(-10)).HoldsNested(Alice, ServiceDeskGroup),
            Escalated(Rules.MfaEvidence, QueueKinds.Soc).Saying("The person verified their own identity")),
        new("Mfa_VerifierNotOnServiceDesk_Escalates",
            s => s.MfaReset().Verified("video-call-with-photo-id", Rita, Now.AddMinutes(-10)),
            Escalated(Rules.MfaEvidence).Saying("Rita Reyes (u-rita), who verified the identity, is not in the service desk group.")),
        new("Mfa_EvidenceTypedInBySomeoneElse_CountsForNothing",
            s => s.MfaReset().OpenedBy(Alice),
            Escalated(Rules.MfaEvidence).Saying("The identity verification names Desmond Doyle (u-desmond), but Alice Archer (u-alice) opened the ticket")),
        new("Mfa_EvidenceRecordedByTheVerifierInTheHistory_Counts",
            s => s.MfaReset().OpenedBy(Rita).Changed(RequestFields.VerifiedBy, Now.AddMinutes(-20), by: Desmond),
            Fulfilled(Step.Tap(), Step.Methods(), Step.Revoke()).Verifying("Identity verified by Desmond Doyle (u-desmond) (service desk)")),
        new("Mfa_VerifierFieldLastChangedBySomeoneElse_CountsForNothing",
            s => s.MfaReset().OpenedBy(Rita).Changed(RequestFields.VerifiedBy, Now.AddMinutes(-40), by: Desmond).Changed(RequestFields.VerifiedBy, Now.AddMinutes(-20), by: Rita),
            Escalated(Rules.MfaEvidence)),
        new("Mfa_UnacceptedVerificationMethod_NeedsInfo",
            s => s.MfaReset().Verified("email", Desmond, Now.AddMinutes(-10)),
            NeedsInfo("\"email\" is not an accepted identity verification method (accepted: video-call-with-photo-id, in-person-id-check).")),
        new("Mfa_EvidenceOlderThanPolicyAllows_NeedsInfo",
            s => s.MfaReset().Verified("in-person-id-check", Desmond, Now.AddHours(-30)),
            NeedsInfo("The identity verification is older than 24 hours; verify the person again.")),
        new("Mfa_EvidenceInTheFuture_NeedsInfo",
            s => s.MfaReset().Verified("in-person-id-check", Desmond, Now.AddHours(3)),
            NeedsInfo("The verification time is in the future.")),
        new("Mfa_NoEvidenceAtAll_AllProblemsAtOnce",
            s => s.MfaReset().Verified(null, null, null).Because(null),
            NeedsInfo("Say how the person's identity was verified", "Say who verified the person's identity", "Say when the identity was verified.", "Say why the MFA methods must be reset")),
        new("Mfa_AdminTarget_Escalates",
            s => s.MfaReset().HoldsMembership(Alice, new Membership("role-helpdesk-admin", "Helpdesk Administrator", MembershipKind.DirectoryRole)),
            Escalated(Rules.MfaAdminTarget, QueueKinds.Privileged).Saying("MFA resets for admins are done by people")),
        new("Mfa_PrivilegedGroupMember_IsTreatedAsAdmin",
            s => s.MfaReset().HoldsNested(Alice, Ent.ProdDbAdmin),
            Escalated(Rules.MfaAdminTarget, QueueKinds.Privileged)),
        new("Mfa_GuestTarget_Escalates",
            s => s.MfaReset().For(Gina),
            Escalated(Rules.MfaGuestTarget).Saying("Guests recover MFA with their home organisation")),
        new("Mfa_ProtectedGroupMember_Escalates",
            s => s.MfaReset().HoldsNested(Alice, ExecutivesGroup),
            Escalated(Rules.MfaProtectedTarget, QueueKinds.Privileged).Saying("whose MFA is never reset automatically")),
        new("Mfa_ServiceAccount_Escalates",
            s => s.MfaReset().For(ServiceAccount),
            Escalated(Rules.MfaProtectedTarget, QueueKinds.Privileged).Saying("Protected account")),
        new("Mfa_NoManagerWithMailbox_Escalates",
            s => s.MfaReset().InDirectory(Alice, u => u with { Manager = u.Manager! with { Mail = null } }),
            Escalated(Rules.MfaNoManager).Saying("no manager with a mailbox")),
        new("Mfa_DisabledTarget_Escalates",
            s => s.MfaReset().InDirectory(Alice, u => u with { AccountEnabled = false }),
            Escalated(Rules.TargetDisabled)),
        new("Mfa_VerifierNotInDirectory_NeedsInfo",
            s => s.MfaReset().Unresolved(Desmond, "No directory account has the email address of Desmond Doyle (desmond@contoso.com)."),
            NeedsInfo("No directory account has the email address of Desmond Doyle")),
        new("Mfa_VerifierNotLookedUp_NeedsInfoNotUnsupported",
            s => s.MfaReset().OpenedBy(Alice).VerifierNotLookedUp(),
            NeedsInfo("The person who verified the identity could not be matched to a directory account.")),
    ];

    public static TheoryData<CaseName> Names => DecisionCase.NamesOf(Cases);

    [Theory]
    [MemberData(nameof(Names))]
    public void Decide(CaseName name) => DecisionCase.Run(Cases, name);
}
