using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using static IamFulfillment.Core.Tests.Decisions.Org;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>
/// What an escalation gives the person who decides: who and what, the rule, what was verified and what was not, and
/// the target's current privileged or sensitive access (<see cref="DecisionEngine.SensitiveAccess"/>).
/// </summary>
public sealed class EscalationNoteTests
{
    [Fact]
    public void SensitiveAccess_ListsRolesPrivilegedAndSensitiveGroupsAndControlGroups()
    {
        var ctx = new Scenario().Grant(Ent.ProdDbAdmin)
            .Holds(Alice, Ent.Crm, Ent.FinanceAp)
            .HoldsNested(Alice, Ent.IntuneAdmins, HrGroup)
            .HoldsMembership(Alice, new Membership("62e90763-f013-4063-8d7c-0b4a0b3c21b7", "User Administrator", MembershipKind.DirectoryRole))
            .HoldsMembership(Alice, new Membership("grp-shadow-admins", "Shadow admins", IsRoleAssignable: true))
            .Build();

        Assert.Equal(
        [
            "Finance: accounts payable (sensitive, group grp-finance-ap)",
            "Intune administrators (privileged, group grp-intune-admins)",
            "member of the HR group (its members file leavers) (grp-hr)",
            "directory role User Administrator",
            "role-assignable group Shadow admins",
        ], DecisionEngine.SensitiveAccess(ctx));
    }

    [Fact]
    public void SensitiveAccess_NothingNotable_IsEmpty() =>
        Assert.Empty(DecisionEngine.SensitiveAccess(new Scenario().Grant(Ent.Crm).Holds(Alice, Ent.Crm, Ent.SalesReports).Build()));

    [Fact]
    public void Escalation_SaysWhatWasVerifiedAndWhatNot()
    {
        var ctx = new Scenario().Grant(Ent.FinanceAp)
            .Rejected(Olga, "Not yet.", Now.AddHours(-6)).Changed(RequestFields.Justification, Now.AddHours(-5))
            .Build();
        var decision = DecisionEngine.Decide(ctx).Decision!;

        Assert.Equal(Outcome.Rejected, decision.Outcome);
        Assert.Contains("Target Alice Archer (u-alice) matched by email address.", decision.Verified);
        Assert.Contains("Requester Rita Reyes (u-rita) matched by email address.", decision.Verified);
        Assert.Contains(decision.NotVerified, n => n.Contains("predates the last change of the request", StringComparison.Ordinal));
    }

    [Fact]
    public void Escalation_NamesEveryReasonWithItsRule_FirstIsTheDecidingRule()
    {
        var ctx = new Scenario().Grant(Ent.FinanceAp, Ent.FinanceVendors).InDirectory(Alice, u => u with { AccountEnabled = false }).Approved(Mark).Build();
        var decision = DecisionEngine.Decide(ctx).Decision!;

        Assert.Equal(Outcome.Escalated, decision.Outcome);
        Assert.Equal(Rules.TargetDisabled, decision.Rule);
        Assert.Equal(decision.Rule, decision.Reasons[0].Rule);
        Assert.Equal([Rules.TargetDisabled, Rules.SodConflict, Rules.ApprovalMissing], decision.Reasons.Select(r => r.Rule).Distinct());
        Assert.Null(decision.Plan);
        Assert.Equal(Org.Policy.Version, decision.PolicyVersion);
    }

    [Fact]
    public void SecurityApprovalCarriesOut_OnlyWhenNothingElseStandsInTheWay()
    {
        bool Carries(Func<Scenario, Scenario> arrange) => DecisionEngine.Decide(arrange(new Scenario()).Build()).Decision!.SecurityApprovalCarriesOut;

        Assert.True(Carries(s => s.Grant(Ent.ProdDbAdmin).Until(Now.AddDays(7)).Approved(Mark).Approved(Olga)));
        Assert.True(Carries(s => s.Grant(Ent.FinanceAp).HoldsNested(Alice, Ent.FinanceVendors).Approved(Mark).Approved(Olga)));
        Assert.True(Carries(s => s.Remove(Ent.Crm).Holds(Alice, Ent.Crm)));
        Assert.False(Carries(s => s.Grant(Ent.IntuneAdmins).Until(Now.AddDays(7)).Approved(Mark).Approved(Olga)));
        Assert.False(Carries(s => s.Grant(Ent.PayrollExport).Approved(Mark)));
        Assert.False(Carries(s => s.Grant(Ent.ProdDbAdmin).Until(Now.AddDays(7)).InDirectory(Alice, u => u with { AccountEnabled = false })));
        Assert.False(Carries(s => s.Leaver().OpenedBy(Mark)));
        Assert.False(Carries(s => s.Joiner().OpenedBy(Rita)));
        Assert.False(Carries(s => s.Grant(Ent.Crm).Approved(Mark)));
        Assert.False(Carries(s => s.Grant(Ent.Crm).Justify(null).Approved(Mark)));
    }
}
