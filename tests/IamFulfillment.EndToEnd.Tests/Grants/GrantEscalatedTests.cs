using IamFulfillment.Core.Decisions;
using IamFulfillment.EndToEnd.Tests.Infrastructure;

namespace IamFulfillment.EndToEnd.Tests.Grants;

/// <summary>Issue 3: what goes to people, to which queue, with a note that holds everything needed to decide.</summary>
public sealed class GrantEscalatedTests(GrantWorld f) : IClassFixture<GrantWorld>
{
    [Fact]
    public async Task PrivilegedRequest_EscalationNoteSaysWhoWhatWhyWhatWasVerifiedTheCurrentAccessAndTheLink()
    {
        var ada = f.World.NewEmployee("Finance", "grace", "vendor-master-edit");
        var ticket = f.ServiceNow.Grant(ada, "prod-admins", endInDays: 7,
            justification: "On-call for payments [code]<a href=\"https://evil.example/x\">click</a>[/code] this week").ApprovedBy("grace");

        var note = await EscalatedAsync(ticket, Rules.TierPrivileged, Queues.Privileged);

        Assert.StartsWith("ESCALATION — needs a person (queue: privileged)", note, StringComparison.Ordinal);
        Text.Contains("Why (rule tier.privileged):", note);
        Text.Contains("- Production administrators is privileged access: a person decides (security approval stage). [tier.privileged]", note);
        Text.Contains("- No approval from the owner of Production administrators is on the ticket; it has approvals from ", note);
        Text.Contains("Request: AccessGrant: Production administrators [prod-admins, privileged]", note);
        // (ServiceNow journals show angle brackets as lookalikes, so nothing in a note can open an HTML tag.)
        Text.Contains($"Target: {ada.DisplayName} ‹{ada.UserPrincipalName}›, id {ada.GraphId}, Member, employee type Employee, department Finance, enabled, manager Grace Hopper", note);
        Text.Contains($"Requester: {ada.DisplayName} ‹{ada.UserPrincipalName}›", note);
        Text.Contains("Verified:\n", note);
        Text.Contains($"- Target {ada.DisplayName}", note);
        Text.Contains("matched by email address", note);
        Text.Contains("- The target's manager: approved by Grace Hopper", note);
        Text.Contains($"Target's current privileged/sensitive access: Vendor master data (edit) (sensitive, group {GrantWorld.Group("vendor-master-edit")})", note);
        Text.Contains("add an approval from a member of the security approvers group", note);
        Text.Contains($"Ticket: {ticket.Number} {f.World.ServiceNow.Url}", note);
        Text.Contains($"sc_req_item.do?sys_id={ticket.SysId}", note);

        // Ticket text cannot inject markup into the note an admin reads.
        Text.DoesNotContain("[code]", note);
        Text.DoesNotContain("<a", note);
        Text.Contains("(code)‹a href=\"https://evil.example/x\"›click‹/a›(/code)", note);
        Text.Contains("needs a decision by a person in the IAM team", ticket.Comment);
    }

    [Fact]
    public async Task SensitiveEntitlementWithoutTheOwnersApproval_GoesToIamOperations()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "vendor-master-edit").ApprovedBy("grace");

        var note = await EscalatedAsync(ticket, Rules.ApprovalMissing, Queues.Iam);

        Text.Contains("No approval from the owner of Vendor master data (edit) is on the ticket; it has approvals from Grace Hopper", note);
    }

    [Fact]
    public async Task EntitlementConflictingWithOneTheTargetHolds_IsASeparationOfDutiesEscalation()
    {
        var ada = f.World.NewEmployee("Finance", "grace", "vendor-master-edit");
        var ticket = f.ServiceNow.Grant(ada, "finance-payments-approve", endInDays: 30).ApprovedBy("grace").ApprovedBy("radia");

        var note = await EscalatedAsync(ticket, Rules.SodConflict, Queues.Iam);

        Text.Contains("Separation of duties 'payments-vs-vendor-master' (whoever edits vendor bank details must not approve payments): Payments approval conflicts with Vendor master data (edit), which the person already holds.", note);
    }

    [Fact]
    public async Task OwnerApprovingARequestTheyOpened_IsNotAnApproval()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "vendor-master-edit", requester: "radia").ApprovedBy("grace").ApprovedBy("radia");

        var note = await EscalatedAsync(ticket, Rules.ApprovalSelf, Queues.Iam);

        Text.Contains("Radia Perlman", note);
        Text.Contains("self-approval is not an approval (the owner of Vendor master data (edit))", note);
    }

    [Fact]
    public async Task ApprovalGivenBeforeTheRequestChanged_IsStale()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read", endInDays: 30).ApprovedBy("grace");
        ticket.Change("end_date", f.World.ServiceNow.Time.GetUtcNow().AddDays(300).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), by: ada.Key);

        var note = await EscalatedAsync(ticket, Rules.ApprovalStale, Queues.Iam);

        Text.Contains("before the request last changed", note);
        Text.Contains("it no longer covers the request", note);
    }

    [Fact]
    public async Task ManagerWhoRequestedForAReportAndApprovedIt_IsNotAnIndependentApproval()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read", requester: "grace").ApprovedBy("grace");

        var note = await EscalatedAsync(ticket, Rules.ApprovalManagerOwnRequest, Queues.Iam);

        Text.Contains("Grace Hopper", note);
        Text.Contains("both requested this for a direct report and approved it", note);
    }

    [Fact]
    public async Task DelegateApprovingForTheManager_WhenPolicyForbidsDelegates_Escalates()
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read").ApprovedByDelegate("grace", "lynn");

        var note = await EscalatedAsync(ticket, Rules.ApprovalDelegateNotAllowed, Queues.Iam);

        Text.Contains("Lynn Conway", note);
        Text.Contains("policy does not accept delegated approvals", note);
        Text.Contains("(acted by Lynn Conway)", note);
    }

    [Fact]
    public async Task DisabledTarget_IsLookedAtByAPersonFirst()
    {
        var ada = f.World.NewEmployee("Finance", "grace").InDirectory(f.World, u => u.AccountEnabled = false);
        var ticket = f.ServiceNow.Grant(ada, "finance-reports-read").ApprovedBy("grace");

        var note = await EscalatedAsync(ticket, Rules.TargetDisabled, Queues.Iam);

        Text.Contains("is disabled; a person must check why before granting access", note);
        Text.Contains(", DISABLED,", note);
    }

    [Theory]
    [InlineData("helpdesk-admins", "role-assignable")]
    [InlineData("all-staff", "dynamic membership")]
    public async Task GroupTheServiceMustNotChange_IsEscalatedToPrivilegedAccess(string entitlement, string why)
    {
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = f.ServiceNow.Grant(ada, entitlement).ApprovedBy("grace");

        var note = await EscalatedAsync(ticket, Rules.GroupNotAutomatable, Queues.Privileged);

        Text.Contains("The service does not change this group itself", note);
        Text.Contains(why, note);
    }

    [Fact]
    public async Task GroupNestedInAPrivilegedGroup_IsTreatedAsPrivileged()
    {
        var ada = f.World.NewEmployee("Engineering", "barbara");
        var ticket = f.ServiceNow.Grant(ada, "ops-dashboards").ApprovedBy("barbara");

        var note = await EscalatedAsync(ticket, Rules.NestedInPrivileged, Queues.Privileged);

        Text.Contains("Operations dashboards is treated as privileged because its group is nested in the privileged group of Production administrators", note);
        Assert.False(f.World.Graph.IsMember(GrantWorld.OpsDashboardsGroup, ada.GraphId));
    }

    /// <summary>Runs the ticket and checks the escalation write-back: rule, queue, the item left open, one comment, one note, no change.</summary>
    private async Task<string> EscalatedAsync(ServiceNowTicket ticket, string rule, string queue)
    {
        var changes = new ChangeWatch(f.World.Graph);
        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(rule, state.Rule);
        Assert.Equal(queue, ticket.Queue);
        Assert.Equal(DeskStatus.Open, ticket.Status);
        Assert.Equal(0, changes.Made.DirectoryChanges);
        Text.Contains("a person in the IAM team", ticket.Comment);
        return ticket.Note;
    }
}
