using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using static IamFulfillment.Core.Tests.Decisions.Expect;
using static IamFulfillment.Core.Tests.Decisions.Org;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>Joiner, mover and leaver: birthright from the directory's attributes, deprovisioning from HR.</summary>
public sealed class LifecycleCases
{
    private static readonly Membership GlobalReader = new("role-global-reader", "Global Reader", MembershipKind.DirectoryRole);

    private static readonly List<DecisionCase> Cases =
    [
        // Joiner.
        new("Joiner_FromHr_GetsBirthrightFromDirectoryAttributes",
            s => s.Joiner(),
            Fulfilled(Step.Together(Step.Add(Ent.MailStandard), Step.Add(Ent.SalesBase), Step.Add(Ent.Crm)))
                .Verifying("Birthright roles from the directory's attributes (department Sales, job title Account Executive, employee type Employee): everyone, sales.")
                .Verifying("Requested by Hana Hart (u-hana), a member of the HR group.")),
        new("Joiner_FromManager_Fulfils",
            s => s.Joiner().OpenedBy(Mark),
            Fulfilled(Step.Together(Step.Add(Ent.MailStandard), Step.Add(Ent.SalesBase), Step.Add(Ent.Crm)))
                .Verifying("the person's manager per the directory")),
        new("Joiner_FromSomeoneElse_Escalates",
            s => s.Joiner().OpenedBy(Rita),
            Escalated(Rules.JoinerRequester).Saying("A joiner must be filed by HR or the person's manager; Rita Reyes (u-rita) is neither.")),
        new("Joiner_WithoutStartDate_NeedsInfo",
            s => s.Joiner().From(null),
            NeedsInfo("Add the start date of the new hire.")),
        new("Joiner_AccountNotCreatedYet_WaitsForHrProvisioning",
            s => s.Joiner().AccountNotCreatedYet(TimeSpan.FromMinutes(5)),
            Waits("does not exist in the directory yet (HR provisioning may lag)")),
        new("Joiner_AccountStillMissingAfterTheWait_NeedsInfo",
            s => s.Joiner().AccountNotCreatedYet(TimeSpan.FromHours(2)),
            NeedsInfo("No directory account has the email address of Alice Archer")),
        new("Joiner_BirthrightNestedInPrivilegedGroup_Escalates",
            s => s.Joiner().WithPolicy(p => p with { Roles = [new RoleDefinition { Id = "sales", Department = "Sales", Entitlements = [Ent.SalesBase, Ent.SqlReaders] }] }),
            Escalated(Rules.TierPrivileged, QueueKinds.Privileged).Saying("Birthright SQL readers is effectively privileged")),
        new("Joiner_BirthrightInDynamicGroup_Escalates",
            s => s.Joiner().WithPolicy(p => p with { Roles = [new RoleDefinition { Id = "sales", Department = "Sales", Entitlements = [Ent.SalesDynamic] }] }),
            Escalated(Rules.GroupNotAutomatable).Saying("Birthright Everyone in Sales cannot be granted by the service")),
        new("Joiner_AccountDisabledUntilTheStartDate_StillGetsBirthright",
            s => s.Joiner().InDirectory(Alice, u => u with { AccountEnabled = false }),
            Fulfilled(Step.Together(Step.Add(Ent.MailStandard), Step.Add(Ent.SalesBase), Step.Add(Ent.Crm)))),
        new("Joiner_NoBirthrightRoleMatches_Escalates",
            s => s.Joiner().InDirectory(Alice, u => u with { Department = "Sales " })
                .WithPolicy(p => p with { Roles = [.. p.Roles.Where(r => r.Id != "everyone")] }),
            Escalated(Rules.JoinerNoBirthright).Saying("No birthright role in the policy matches department Sales , job title Account Executive, employee type Employee")),
        new("Joiner_BirthrightEntitlementInDryRun_MarksTheDecision",
            s => s.Joiner().WithPolicy(p => p with { Catalog = [.. p.Catalog.Select(e => e.Id == Ent.SalesBase ? e with { DryRun = true } : e)] }),
            Fulfilled(Step.Together(Step.Add(Ent.MailStandard), Step.Add(Ent.SalesBase), Step.Add(Ent.Crm))).AsDryRun()),
        new("Joiner_ServiceAccount_Rejected",
            s => s.Joiner().For(ServiceAccount),
            Rejected(Rules.TargetProtected, "Birthright access is not given to shared, service or break-glass accounts")),

        new("Joiner_RejectedInTheTicket_Rejects",
            s => s.Joiner().Rejected(Mark, "Offer withdrawn."),
            Rejected(Rules.ApprovalRejected, "Mark Miller rejected the request: \"Offer withdrawn.\"")),

        // Mover.
        new("Mover_ToNewDepartment_AddsNewBirthrightAndRemovesOld",
            s => s.Mover().InDirectory(Alice, u => u with { Department = "Engineering", JobTitle = "Developer" })
                .Holds(Alice, Ent.MailStandard, Ent.SalesBase, Ent.Crm, Ent.SalesReports),
            Fulfilled(Step.Together(Step.Add(Ent.EngBase), Step.Add(Ent.GitUsers)), Step.Together(Step.Remove(Ent.SalesBase), Step.Remove(Ent.Crm)))
                .Verifying("New birthright roles from the directory (department Engineering")),
        new("Mover_PreviouslyGrantedBirthrightNotYetListed_IsRemovedToo",
            s => s.Mover().InDirectory(Alice, u => u with { Department = "Engineering" }).Holds(Alice, Ent.MailStandard, Ent.SalesBase).PreviouslyGranted(Ent.Crm),
            Fulfilled(Step.Together(Step.Add(Ent.EngBase), Step.Add(Ent.GitUsers)), Step.Together(Step.Remove(Ent.SalesBase), Step.Remove(Ent.Crm)))),
        new("Mover_KeepsSensitiveAccess_EscalatesForReviewWithPartialPlan",
            s => s.Mover().InDirectory(Alice, u => u with { Department = "Engineering" }).Holds(Alice, Ent.MailStandard, Ent.SalesBase, Ent.FinanceAp),
            Escalated(Rules.MoverKeepsSensitive, QueueKinds.Privileged)
                .Saying("still holds sensitive or privileged access that needs review: Finance: accounts payable (sensitive, group grp-finance-ap)")
                .Plan(Step.Together(Step.Add(Ent.EngBase), Step.Add(Ent.GitUsers)), Step.Remove(Ent.SalesBase))),
        new("Mover_OldBirthrightInOnPremGroup_EscalatesWithPartialPlan",
            s => s.Mover().InDirectory(Alice, u => u with { Department = "Engineering" })
                .HoldsMembership(Alice, new Membership(Ent.Group(Ent.SalesBase), "Sales team site", OnPremisesSynced: true)),
            Escalated(Rules.GroupNotAutomatable).Saying("Old birthright Sales team site cannot be removed by the service")
                .Plan(Step.Together(Step.Add(Ent.MailStandard), Step.Add(Ent.EngBase), Step.Add(Ent.GitUsers)))),
        new("Mover_FromSomeoneElse_Escalates",
            s => s.Mover().OpenedBy(Rita),
            Escalated(Rules.JoinerRequester).Saying("A role change must be filed by HR or the person's manager")),
        new("Mover_WithoutEffectiveDate_NeedsInfo",
            s => s.Mover().EffectiveAt(null),
            NeedsInfo("Add the effective date of the role change.")),
        new("Mover_FutureEffectiveDate_IsScheduled",
            s => s.Mover().EffectiveAt(Now.AddDays(4)).InDirectory(Alice, u => u with { Department = "Engineering" }).Holds(Alice, Ent.MailStandard, Ent.SalesBase),
            Fulfilled(Step.Together(Step.Add(Ent.EngBase), Step.Add(Ent.GitUsers)), Step.Remove(Ent.SalesBase)).Scheduled(Now.AddDays(4))),
        new("Mover_DisabledAccount_Escalates",
            s => s.Mover().InDirectory(Alice, u => u with { Department = "Engineering", AccountEnabled = false }).Holds(Alice, Ent.SalesBase),
            Escalated(Rules.TargetDisabled).Saying("is disabled")),
        new("Mover_Guest_GetsOnlyBirthrightThatAllowsGuests",
            s => s.Mover().For(Gina).InDirectory(Gina, u => u with { Department = "Engineering" })
                .WithPolicy(p => p with { Roles = [.. p.Roles, new RoleDefinition { Id = "engineering-reports", Department = "Engineering", Entitlements = [Ent.SalesReports] }] }),
            Fulfilled(Step.Add(Ent.SalesReports, Gina)).NotVerifying("Git users skipped: not available to guests.")),
        new("Mover_ServiceAccount_Escalates",
            s => s.Mover().For(ServiceAccount),
            Escalated(Rules.TargetProtected)),

        new("Mover_RejectedInTheTicket_Rejects",
            s => s.Mover().InDirectory(Alice, u => u with { Department = "Engineering" }).Holds(Alice, Ent.SalesBase).Rejected(Mark, "The move was cancelled."),
            Rejected(Rules.ApprovalRejected, "Mark Miller rejected the request")),

        // Leaver.
        new("Leaver_FromHr_DisablesRevokesAndRemovesGroups",
            s => s.Leaver().Holds(Alice, Ent.Crm, Ent.SalesBase, Ent.SalesDynamic, LegalHoldGroup),
            Fulfilled(Step.Together(Step.Disable(), Step.Revoke()), Step.Together(Step.Remove(Ent.Crm), Step.Remove(Ent.SalesBase)))
                .Verifying("Kept grp-legal-hold: the policy keeps it for leavers")
                .Verifying("Left Everyone in Sales: dynamic membership follows the account's attributes.")
                .Verifying("Requested by Hana Hart (u-hana), a member of the HR group.")),
        new("Leaver_FromNonHrRequester_Escalates",
            s => s.Leaver().OpenedBy(Mark).Holds(Alice, Ent.Crm),
            Escalated(Rules.LeaverRequesterNotHr).Saying("Leavers are processed only when HR files them; Mark Miller (u-mark) is not in the HR group.")),
        new("Leaver_FutureTermination_IsScheduled",
            s => s.Leaver().TerminatedAt(Now.AddDays(2)).Holds(Alice, Ent.Crm),
            Fulfilled(Step.Together(Step.Disable(), Step.Revoke()), Step.Remove(Ent.Crm)).Scheduled(Now.AddDays(2))),
        new("Leaver_OnPremSyncedAccount_RemovesGroupsAndEscalatesDisable",
            s => s.Leaver().InDirectory(Alice, u => u with { OnPremisesSynced = true }).Holds(Alice, Ent.Crm),
            Escalated(Rules.LeaverNotPermitted, QueueKinds.Privileged).Saying("is synchronised from on-premises AD: its sign-in must be disabled there")
                .Plan(Step.Revoke(), Step.Remove(Ent.Crm))),
        new("Leaver_AdminRoleHolder_DoesTheRestAndEscalates",
            s => s.Leaver().Holds(Alice, Ent.Crm).HoldsMembership(Alice, GlobalReader),
            Escalated(Rules.LeaverNotPermitted, QueueKinds.Privileged).Saying("holds admin roles").Saying("Memberships the service cannot remove: directory role Global Reader")
                .Plan(Step.Revoke(), Step.Remove(Ent.Crm))),
        new("Leaver_RoleAssignableGroupMember_RemovesTheRestAndEscalates",
            s => s.Leaver().Holds(Alice, Ent.Crm, Ent.IntuneAdmins),
            Escalated(Rules.LeaverNotPermitted, QueueKinds.Privileged).Saying("Memberships the service cannot remove: Intune administrators (role-assignable group)")
                .Plan(Step.Revoke(), Step.Remove(Ent.Crm))),
        new("Leaver_FutureTerminationOfOnPremAccount_IsScheduledWithItsPartialPlan",
            s => s.Leaver().TerminatedAt(Now.AddDays(1)).InDirectory(Alice, u => u with { OnPremisesSynced = true }).Holds(Alice, Ent.Crm),
            Escalated(Rules.LeaverNotPermitted, QueueKinds.Privileged).Plan(Step.Revoke(), Step.Remove(Ent.Crm)).Scheduled(Now.AddDays(1))),
        new("Leaver_UnknownTarget_NeedsInfo",
            s => s.Leaver().Unresolved(Alice, "No directory account has the employee number E1001."),
            NeedsInfo("No directory account has the employee number E1001.")),
        new("Leaver_AlreadyDisabled_RevokesAndRemoves",
            s => s.Leaver().InDirectory(Alice, u => u with { AccountEnabled = false }).Holds(Alice, Ent.Crm),
            Fulfilled(Step.Revoke(), Step.Remove(Ent.Crm)).Verifying("The account was already disabled.")),
        new("Leaver_EmployeeNumberPointsAtSomeoneElse_Escalates",
            s => s.Leaver().WithEmployeeNumber("E1002").EmployeeNumberConflict("The employee number E1002 belongs to Rita Reyes (u-rita), but the ticket names Alice Archer (u-alice)."),
            Escalated(Rules.LeaverEmployeeNumberMismatch).Saying("belongs to Rita Reyes")),
        new("Leaver_EmployeeNumberDiffersFromTheTargetsRecord_Escalates",
            s => s.Leaver().WithEmployeeNumber("E9999").Holds(Alice, Ent.Crm),
            Escalated(Rules.LeaverEmployeeNumberMismatch).Saying("The ticket gives employee number E9999, but Alice Archer (u-alice) has E1001 in the directory")),
        new("Leaver_EmployeeNumberMatches_IsRecordedAsVerified",
            s => s.Leaver().WithEmployeeNumber("E1001").Holds(Alice, Ent.Crm),
            Fulfilled(Step.Together(Step.Disable(), Step.Revoke()), Step.Remove(Ent.Crm)).Verifying("Employee number E1001 matches Alice Archer (u-alice)")),
        new("Leaver_RemovingADryRunEntitlement_IsStillCarriedOut",
            s => s.Leaver().Holds(Alice, Ent.CrmPilot),
            Fulfilled(Step.Together(Step.Disable(), Step.Revoke()), Step.Remove(Ent.CrmPilot))),
        new("Leaver_WithoutTerminationDate_NeedsInfo",
            s => s.Leaver().TerminatedAt(null),
            NeedsInfo("Add the termination date and time")),
        new("Leaver_BreakGlassAccount_Escalates",
            s => s.Leaver().For(BreakGlass),
            Escalated(Rules.TargetProtected, QueueKinds.Privileged)),
        new("Leaver_RejectedInTheTicket_Rejects",
            s => s.Leaver().Rejected(Hana, "Wrong person - Alice is staying."),
            Rejected(Rules.ApprovalRejected, "Hana Hart rejected the request")),
    ];

    public static TheoryData<CaseName> Names => DecisionCase.NamesOf(Cases);

    [Theory]
    [MemberData(nameof(Names))]
    public void Decide(CaseName name) => DecisionCase.Run(Cases, name);
}
