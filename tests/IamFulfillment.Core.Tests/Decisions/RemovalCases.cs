using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Policy;
using static IamFulfillment.Core.Tests.Decisions.Expect;
using static IamFulfillment.Core.Tests.Decisions.Org;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>AccessRemoval: taking access away needs no approval from the person, their manager or the owner; anyone else needs the manager.</summary>
public sealed class RemovalCases
{
    private static readonly List<DecisionCase> Cases =
    [
        new("Removal_ByManager_NeedsNoApproval",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).OpenedBy(Mark),
            Fulfilled(Step.Remove(Ent.Crm)).Verifying("Removal requested by the person's manager; no approval needed")),
        new("Removal_ByTheTargetThemselves_NeedsNoApproval",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).OpenedBy(Alice),
            Fulfilled(Step.Remove(Ent.Crm)).Verifying("Removal requested by the person themselves")),
        new("Removal_ByEntitlementOwner_NeedsNoApproval",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).OpenedBy(Olga),
            Fulfilled(Step.Remove(Ent.Crm)).Verifying("Removal requested by the entitlement owner")),
        new("Removal_ByAnyoneElseWithoutManagerApproval_Escalates",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm),
            Escalated(Rules.ApprovalMissing).Because(Rules.RemovalRequesterNotEntitled, "Rita Reyes (u-rita) is neither the person, their manager nor the owner")),
        new("Removal_ByAnyoneElseWithManagerApproval_Fulfils",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).Approved(Mark),
            Fulfilled(Step.Remove(Ent.Crm)).Verifying("The target's manager: approved by Mark Miller")),
        new("Removal_NotAMember_FulfilsAsNoOp",
            s => s.Remove(Ent.Crm).OpenedBy(Mark),
            Fulfilled(Step.Remove(Ent.Crm)).Verifying("does not hold CRM users; the removal is recorded as a no-op")),
        new("Removal_OfPrivilegedAccess_Escalates",
            s => s.Remove(Ent.ProdDbAdmin).Holds(Alice, Ent.ProdDbAdmin).OpenedBy(Mark),
            Escalated(Rules.TierPrivileged, QueueKinds.Privileged).Saying("changes to it go to a person")),
        new("Removal_FromRoleAssignableGroup_Escalates",
            s => s.Remove(Ent.IntuneAdmins).Holds(Alice, Ent.IntuneAdmins).OpenedBy(Mark),
            Escalated(Rules.GroupNotAutomatable, QueueKinds.Privileged).Because(Rules.TierPrivileged)),
        new("Removal_FromDynamicGroup_Escalates",
            s => s.Remove(Ent.SalesDynamic).OpenedBy(Mark),
            Escalated(Rules.GroupNotAutomatable, QueueKinds.Privileged).Saying("dynamic membership")),
        new("Removal_GroupFactsNotRead_FailsClosed",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).OpenedBy(Mark).GroupNotRead(Ent.Crm),
            Escalated(Rules.GroupUnchecked, QueueKinds.Privileged)),
        new("Removal_FromServiceAccount_Escalates",
            s => s.Remove(Ent.Crm).For(ServiceAccount).OpenedBy(Mark),
            Escalated(Rules.TargetProtected).Saying("The service never changes shared, service or break-glass accounts")),
        new("Removal_DisabledAccount_Escalates",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).OpenedBy(Mark).InDirectory(Alice, u => u with { AccountEnabled = false }),
            Escalated(Rules.TargetDisabled).Saying("is disabled")),
        new("Removal_UnknownEntitlement_NeedsInfo",
            s => s.Remove("crm-user").OpenedBy(Mark),
            NeedsInfo("\"crm-user\" is not an entitlement in the access catalog")),
        new("Removal_RejectedInTheTicket_Rejects",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).Rejected(Mark, "She still needs it for the renewals."),
            Rejected(Rules.ApprovalRejected, "Mark Miller rejected the request")),
        new("Removal_PendingManagerApproval_Waits",
            s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm).Pending(Mark),
            Waits("approval requested from Mark Miller is still pending")),
    ];

    public static TheoryData<CaseName> Names => DecisionCase.NamesOf(Cases);

    [Theory]
    [MemberData(nameof(Names))]
    public void Decide(CaseName name) => DecisionCase.Run(Cases, name);
}
