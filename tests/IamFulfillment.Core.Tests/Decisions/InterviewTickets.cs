using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Policy;
using static IamFulfillment.Core.Tests.Decisions.Expect;
using static IamFulfillment.Core.Tests.Decisions.Org;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>
/// The seed's interview exercise (section 19): "3–5 sample tickets (new hire access, contractor extension, admin
/// access request, MFA reset, termination)". The service must take the next step a careful junior administrator
/// would, and document what it checked.
/// </summary>
public sealed class InterviewTickets
{
    private static readonly List<DecisionCase> Cases =
    [
        // New hire access: HR files a joiner; access follows the directory's department, not the ticket's text.
        new("Interview_NewHireAccess_JoinerGetsBirthrightForTheirDepartment",
            s => s.Joiner().InDirectory(Alice, u => u with { Department = "Engineering", JobTitle = "Developer" }),
            Fulfilled(Step.Together(Step.Add(Ent.MailStandard), Step.Add(Ent.EngBase), Step.Add(Ent.GitUsers)))
                .Verifying("Birthright roles from the directory's attributes (department Engineering")),

        // Contractor extension: a contractor's access is extended to a new end date, approved by the manager.
        new("Interview_ContractorExtension_GrantWithEndDateFulfils",
            s => s.Grant(Ent.VendorPortal).For(Carl).OpenedBy(Carl).Until(Now.AddDays(60))
                .Justify("Contract extended to end of January to finish the vendor onboarding project.").Approved(Mark),
            Fulfilled(Step.Add(Ent.VendorPortal, Carl)).WithGrant(Ent.VendorPortal, Now.AddDays(60))
                .Verifying("The target's manager: approved by Mark Miller")),
        new("Interview_ContractorExtension_WithoutEndDateNeedsInfo",
            s => s.Grant(Ent.Crm).For(Carl).OpenedBy(Carl).Justify("Contract extended, please keep my CRM access going.").Approved(Mark),
            NeedsInfo("Add an end date: it is required because the person is a contractor.")),

        // Admin access request ("just give me admin"): privileged always goes to people, with the note ready.
        new("Interview_AdminAccessRequest_PrivilegedEscalatesToPeople",
            s => s.Grant(Ent.ProdDbAdmin).OpenedBy(Alice).Until(Now.AddDays(3))
                .Justify("Need admin on the production database to fix the nightly export job.").Approved(Mark),
            Escalated(Rules.TierPrivileged, QueueKinds.Privileged).Because(Rules.ApprovalMissing, "No approval from the owner of Production database admins")),

        // MFA reset: verified by the service desk, pass to the manager, old methods removed, sessions revoked.
        new("Interview_MfaReset_VerifiedResetFulfils",
            s => s.MfaReset().OpenedBy(Desmond),
            Fulfilled(Step.Tap(), Step.Methods(), Step.Revoke())),

        // Termination: HR files the leaver; disable, revoke, remove, keep a record for rehire.
        new("Interview_Termination_LeaverDeprovisions",
            s => s.Leaver().Holds(Alice, Ent.Crm, Ent.SalesReports),
            Fulfilled(Step.Together(Step.Disable(), Step.Revoke()), Step.Together(Step.Remove(Ent.Crm), Step.Remove(Ent.SalesReports)))),
    ];

    public static TheoryData<CaseName> Names => DecisionCase.NamesOf(Cases);

    [Theory]
    [MemberData(nameof(Names))]
    public void Decide(CaseName name) => DecisionCase.Run(Cases, name);

    [Fact]
    public void Interview_Termination_RecordsRemovalsForRehire()
    {
        var ctx = new Scenario().Leaver().Holds(Alice, Ent.Crm).Build();
        var plan = DecisionEngine.Decide(ctx).Decision!.Plan!;
        Assert.True(plan.RecordsRemovalsForRestore);
        Assert.True(plan.ContinueAfterFailure);
    }
}
