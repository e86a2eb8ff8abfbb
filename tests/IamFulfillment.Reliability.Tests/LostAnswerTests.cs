using IamFulfillment.Core.Audit;
using IamFulfillment.Reliability.Tests.Infrastructure;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Testing;
using GraphSandbox = IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// The ITSM (or Graph) applied a write but its answer never came back. The service must look at what the ticket
/// already shows before writing again: nothing is posted twice, and nothing half-written is left so.
/// </summary>
public sealed class LostAnswerTests
{
    [Fact]
    public async Task ServiceNowWriteBackAppliedButItsAnswerLost_IsNotPostedAgain()
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var ticket = Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World));
        s.World.ServiceNow.Faults.Enqueue(SandboxFaultKind.LostAnswer, "PATCH", "/sc_req_item/" + ticket.Key);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket));
        await s.Host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));

        Assert.Equal(1, s.World.ServiceNow.CallCount("PATCH", ticket.Key));
        Assert.Contains(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.WriteBackRecovered);
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [ticket]);
    }

    [Theory]
    [InlineData("/comment")]
    [InlineData("/transitions")]
    public async Task JiraWriteAppliedButItsAnswerLost_TheWriteBackIsCompletedWithoutRepeatingIt(string lostCall)
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var ticket = Tickets.JiraGrant(s.World, Tickets.NewEmployee(s.World));
        s.World.Jira!.Faults.Enqueue(SandboxFaultKind.LostAnswer, "POST", lostCall);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket));
        await s.Host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));

        Assert.Equal(1, s.World.Jira.CallCount("POST", "/transitions"));
        Assert.Equal(2, s.World.Jira.CallCount("POST", "/comment"));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [ticket]);
    }

    /// <summary>
    /// The note goes out in the same wave as the customer comment and the transition. Its answer lost while the others
    /// landed: the note, the comment it names and the status it names are all on the ticket, so the write-back is
    /// recognised as done and nothing is written again.
    /// </summary>
    [Fact]
    public async Task JiraInternalNoteAppliedButItsAnswerLost_IsRecognisedAsTheWholeWriteBack()
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var ticket = Tickets.JiraGrant(s.World, Tickets.NewEmployee(s.World));
        var note = s.World.Jira!.Holds.Add("POST", "/comment", HoldPoint.AfterHandling, bodyContains: JiraSandbox.InternalNoteBody);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket));
        await note.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        note.Drop();
        await s.Host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));

        Assert.Contains(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.WriteBackRecovered);
        Assert.Equal(2, s.World.Jira.CallCount("POST", "/comment"));
        Assert.Equal(1, s.World.Jira.CallCount("POST", "/transitions"));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [ticket]);
    }

    /// <summary>
    /// The note landed, but the customer comment sent with it never reached the ticket: the note alone is not the
    /// whole write-back, so the round is resumed and posts the comment, and neither the note nor the transition twice.
    /// </summary>
    [Fact]
    public async Task JiraInternalNoteLandedButTheCustomerCommentDidNot_TheWriteBackIsCompletedWithoutRepeatingIt()
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var ticket = Tickets.JiraGrant(s.World, Tickets.NewEmployee(s.World));
        var comment = s.World.Jira!.Holds.Add("POST", "/comment", bodyContains: JiraSandbox.CustomerCommentBody);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket));
        await comment.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        comment.Drop(); // never applied
        await s.Host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));

        Assert.DoesNotContain(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.WriteBackRecovered);
        Assert.Equal(3, s.World.Jira.CallCount("POST", "/comment")); // the dropped comment, the note, the comment again
        Assert.Equal(1, s.World.Jira.CallCount("POST", "/transitions"));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [ticket]);
    }

    [Fact]
    public async Task GraphMemberAddAppliedButItsAnswerLost_IsOneChange_RecordedOnTheTicket()
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var ticket = Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World));
        s.World.Graph.Faults.Next(new GraphSandbox.SandboxFault(GraphSandbox.SandboxFaultKind.ResetAfterHandling) { Method = "POST", PathContains = "/members/$ref", Scope = GraphSandbox.SandboxFaultScope.DirectCall });

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket));
        await s.Host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));

        Assert.Equal(1, s.World.Graph.Changes.MembershipsAdded);
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [ticket], strictAudit: false);
    }
}
