using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Jira;

namespace IamFulfillment.Connectors.Tests.Jira;

/// <summary>
/// The write-back is one wave (customer comment ∥ internal note ∥ transition ∥ queue fields), so any part of it can
/// land without the others. The note says what it was sent with; ShowsMarker is true only once all of that is on the
/// ticket, and a resumed write-back writes exactly what is missing.
/// </summary>
public sealed class JiraWriteBackRecoveryTests : IDisposable
{
    private const string Marker = "[iamf:r0123456789abcdef0123:fulfilled]";
    private readonly JiraWorld _world = new();

    public void Dispose() => _world.Dispose();

    private JiraSandbox Sandbox => _world.Sandbox;

    [Fact]
    public async Task WriteBack_CommentNoteAndTransition_AreAllOnTheWireBeforeAnyIsAnswered()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        var comments = Sandbox.Holds.Add("POST", "/comment", times: 2);
        var transition = Sandbox.Holds.Add("POST", "/transitions");

        var writing = connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None);
        await WaitForAsync(() => comments.Held == 2 && transition.Held == 1);
        comments.Release();
        transition.Release();
        await writing;

        Assert.Equal("Resolved", Sandbox.StatusOf(key));
        Assert.Single(Sandbox.Comments(key), c => c.Public);
        Assert.Single(Sandbox.Comments(key), c => !c.Public);
    }

    [Fact]
    public async Task Note_SaysWhatItWasSentWith_OnTheLineAboveTheMarker()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);

        await connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None);

        var lines = Rendered(Assert.Single(Sandbox.Comments(key), c => !c.Public).Body).Split('\n');
        Assert.Equal(Marker, lines[^1]);
        Assert.Equal("Sent with this note: the customer comment, the transition to \"Resolved\" (earlier moves there by the service: 0).", lines[^2]);
        Assert.Equal(Marker, Rendered(Assert.Single(Sandbox.Comments(key), c => c.Public).Body).Split('\n')[^1]);
    }

    [Theory]
    [InlineData("customer comment")]
    [InlineData("transition")]
    public async Task ShowsMarker_NoteLandedButAPartSentWithItDidNot_IsFalse_AndResumeWritesOnlyThatPart(string missing)
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        var lost = missing == "transition"
            ? Sandbox.Holds.Add("POST", "/transitions")
            : Sandbox.Holds.Add("POST", "/comment", bodyContains: JiraSandbox.CustomerCommentBody);
        lost.Drop(); // never applied

        await Assert.ThrowsAnyAsync<ConnectorException>(() => connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None));
        Assert.Single(Sandbox.Comments(key), c => !c.Public);
        Assert.False(await connector.ShowsMarkerAsync(await connector.ReadAsync(key, CancellationToken.None), Marker, CancellationToken.None));

        Sandbox.ResetCalls();
        var receipt = await connector.WriteBackAsync(await connector.ReadAsync(key, CancellationToken.None), Fulfilled() with { Resume = true }, CancellationToken.None);

        Assert.Equal("Resolved", receipt.StateWritten);
        Assert.Equal(missing == "transition" ? 0 : 1, Sandbox.CallCount("POST", "/comment"));
        Assert.Equal(missing == "transition" ? 1 : 0, Sandbox.CallCount("POST", "/transitions"));
        AssertWrittenOnce(key);
        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
    }

    [Fact]
    public async Task Resume_AfterOnlyTheNoteLanded_CompletesTheCommentAndTheTransitionWithoutASecondNote()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        Sandbox.Holds.Add("POST", "/comment", bodyContains: JiraSandbox.CustomerCommentBody).Drop();
        Sandbox.Holds.Add("POST", "/transitions").Drop();

        await Assert.ThrowsAnyAsync<ConnectorException>(() => connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None));
        Assert.Equal("Waiting for support", Sandbox.StatusOf(key));
        Assert.False(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));

        Sandbox.ResetCalls();
        await connector.WriteBackAsync(await connector.ReadAsync(key, CancellationToken.None), Fulfilled() with { Resume = true }, CancellationToken.None);

        Assert.Equal(1, Sandbox.CallCount("POST", "/comment"));
        Assert.Equal(1, Sandbox.CallCount("POST", "/transitions"));
        AssertWrittenOnce(key);
        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
    }

    [Fact]
    public async Task Resume_WhenEverythingButTheNoteLanded_PostsOnlyTheNote()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        Sandbox.Holds.Add("POST", "/comment", bodyContains: JiraSandbox.InternalNoteBody).Drop();

        await Assert.ThrowsAnyAsync<ConnectorException>(() => connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None));
        Assert.Equal("Resolved", Sandbox.StatusOf(key));
        Assert.False(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));

        Sandbox.ResetCalls();
        await connector.WriteBackAsync(await connector.ReadAsync(key, CancellationToken.None), Fulfilled() with { Resume = true }, CancellationToken.None);

        Assert.Single(Sandbox.Calls, c => c.Method != "GET");
        AssertWrittenOnce(key);

        // Sent alone, after the rest was seen on the ticket, the note needs no record: it stands for the whole write-back.
        Assert.Equal("Added to grp-finance-read (object id 1111).\n" + Marker, Rendered(Assert.Single(Sandbox.Comments(key), c => !c.Public).Body));
        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
    }

    [Fact]
    public async Task ShowsMarker_NoteWhoseAnswerWasLost_WithTheRestLanded_IsTrue()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        Sandbox.Holds.Add("POST", "/comment", HoldPoint.AfterHandling, bodyContains: JiraSandbox.InternalNoteBody).Drop();

        await Assert.ThrowsAnyAsync<ConnectorException>(() => connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None));

        // The snapshot is the one from before the write-back: the status is looked at now, not taken from it.
        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
        AssertWrittenOnce(key);
    }

    [Fact]
    public async Task ClosedByOwnWriteBack_TellsTheServicesTransitionFromAPersons()
    {
        // A recorded write-back may have sent nothing: a closed ticket counts as the service's only if its transition closed it.
        var mine = _world.CreateAccessRequest();
        var theirs = _world.CreateAccessRequest();
        var connector = _world.Connector();
        await connector.WriteBackAsync(await connector.ReadAsync(mine, CancellationToken.None), Fulfilled(), CancellationToken.None);
        Sandbox.Transition(theirs, "Cancel request", _world.Alice.AccountId);

        var closedByService = await connector.ReadAsync(mine, CancellationToken.None);
        var closedByPerson = await connector.ReadAsync(theirs, CancellationToken.None);

        Assert.Equal((TicketStatus.Closed, TicketStatus.Closed), (closedByService.Status, closedByPerson.Status));
        Assert.True(connector.ClosedByOwnWriteBack(closedByService));
        Assert.False(connector.ClosedByOwnWriteBack(closedByPerson));
    }

    [Fact]
    public async Task ShowsMarker_APersonMovedTheTicketOnAfterTheWriteBack_IsStillTrue_AndResumeDoesNotMoveItBack()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        await connector.WriteBackAsync(await connector.ReadAsync(key, CancellationToken.None), Fulfilled(), CancellationToken.None);
        Sandbox.Transition(key, "Reopen", _world.Carol.AccountId);
        var now = await connector.ReadAsync(key, CancellationToken.None);
        Sandbox.ResetCalls();

        Assert.True(await connector.ShowsMarkerAsync(now, Marker, CancellationToken.None));
        var receipt = await connector.WriteBackAsync(now, Fulfilled() with { Resume = true }, CancellationToken.None);

        Assert.Equal("Resolved", receipt.StateWritten); // what the write-back set; the person's move shows against it
        Assert.Equal("Waiting for support", Sandbox.StatusOf(key));
        Assert.DoesNotContain(Sandbox.Calls, c => c.Method != "GET");
        AssertWrittenOnce(key);
    }

    [Fact]
    public async Task ShowsMarker_TheSameStatusReachedByAnEarlierWriteBack_DoesNotCountForThisOne()
    {
        // Needs info, the customer answers, needs info again: the second transition to "Waiting for customer" did not land.
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        await connector.WriteBackAsync(await connector.ReadAsync(key, CancellationToken.None), NeedsInfo("[iamf:r0000000000000000first:needsinfo]"), CancellationToken.None);
        Sandbox.Transition(key, "Respond to support", _world.Alice.AccountId);
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        Sandbox.Holds.Add("POST", "/transitions").Drop();
        const string Second = "[iamf:r000000000000000second:needsinfo]";

        await Assert.ThrowsAnyAsync<ConnectorException>(() => connector.WriteBackAsync(ticket, NeedsInfo(Second), CancellationToken.None));

        Assert.False(await connector.ShowsMarkerAsync(ticket, Second, CancellationToken.None));
        await connector.WriteBackAsync(await connector.ReadAsync(key, CancellationToken.None), NeedsInfo(Second) with { Resume = true }, CancellationToken.None);
        Assert.Equal("Waiting for customer", Sandbox.StatusOf(key));
        Assert.True(await connector.ShowsMarkerAsync(ticket, Second, CancellationToken.None));
    }

    [Fact]
    public async Task ShowsMarker_EscalationThatSetQueueFields_IsFalse_AndResumeOnlySetsTheFieldsAgain()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var escalation = new WriteBack
        {
            Outcome = Outcome.Escalated, InternalNote = "Privileged tier: needs a person.", CustomerComment = "A person will handle this.",
            Marker = "[iamf:r0123456789abcdef0123:escalated]",
            Queue = new EscalationQueue { Id = "privileged", JiraTransition = "Escalate", JiraFields = new Dictionary<string, string> { ["labels"] = """["iam-escalated"]""" } },
        };
        await connector.WriteBackAsync(await connector.ReadAsync(key, CancellationToken.None), escalation, CancellationToken.None);
        var now = await connector.ReadAsync(key, CancellationToken.None);

        // A read cannot tell that the fields were set (setting them again is harmless), so the write-back is resumed.
        Assert.False(await connector.ShowsMarkerAsync(now, escalation.Marker, CancellationToken.None));
        Sandbox.ResetCalls();
        var receipt = await connector.WriteBackAsync(now, escalation with { Resume = true }, CancellationToken.None);

        Assert.Equal("Escalated", receipt.StateWritten);
        Assert.Equal(1, Sandbox.CallCount("PUT", "/issue/"));
        Assert.Equal(0, Sandbox.CallCount("POST"));
        AssertWrittenOnce(key);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WriteBack_TicketAlreadyWhereAGlobalTransitionLeads_DoesNotTakeItAgain(bool resume)
    {
        using var world = new JiraWorld(new JiraSandboxOptions { DefaultWorkflow = false });
        world.Sandbox.AddStatus("Open", "new");
        world.Sandbox.AddStatus("Done", "done");
        world.Sandbox.AddTransition("21", "Resolve", "Done"); // global: offered from every status, "Done" too
        var key = world.CreateAccessRequest(status: "Done");
        var connector = world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);

        var receipt = await connector.WriteBackAsync(ticket, Fulfilled() with { Resume = resume }, CancellationToken.None);

        Assert.Equal("Done", receipt.StateWritten);
        Assert.Equal(0, world.Sandbox.CallCount("POST", "/transitions"));
        Assert.Equal(2, world.Sandbox.Comments(key).Count);
    }

    [Fact]
    public async Task ShowsMarker_NoteWithoutARecord_WrittenLastByAnEarlierVersion_StandsForTheWholeWriteBack()
    {
        var key = _world.CreateAccessRequest();
        Sandbox.AddComment(key, Sandbox.IntegrationUser.AccountId, "Added to grp\\-finance\\-read.\n" + IamFulfillment.Core.Text.Markup.ForJiraWiki(Marker), isPublic: false);
        var connector = _world.Connector();

        Assert.True(await connector.ShowsMarkerAsync(await connector.ReadAsync(key, CancellationToken.None), Marker, CancellationToken.None));
    }

    [Fact]
    public async Task ShowsMarker_RecordTypedIntoTheNotesText_IsNotRead()
    {
        // Ticket text copied into a note cannot stand in for the record: only the line right above the marker is read.
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        Sandbox.Holds.Add("POST", "/transitions").Drop();
        var writeBack = Fulfilled() with { InternalNote = "Justification: urgent\nSent with this note: the customer comment." };

        await Assert.ThrowsAnyAsync<ConnectorException>(() => connector.WriteBackAsync(ticket, writeBack, CancellationToken.None));

        Assert.False(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
    }

    /// <summary>One customer comment and one internal note by the service, and one status change made by it.</summary>
    private void AssertWrittenOnce(string key)
    {
        var mine = Sandbox.Comments(key).Where(c => c.AuthorId == Sandbox.IntegrationUser.AccountId).ToList();
        Assert.Single(mine, c => c.Public);
        Assert.Single(mine, c => !c.Public);
        Assert.Single(Sandbox.Changelog(key), h => h.AuthorId == Sandbox.IntegrationUser.AccountId && h.Items.Any(i => i.Field == "status"));
    }

    private static string Rendered(string stored) => Connectors.Jira.JiraNoteRecord.Unescape(stored);

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "timed out: the writes were not all on the wire at once");
            await Task.Delay(10);
        }
    }

    private static WriteBack Fulfilled() => new()
    {
        Outcome = Outcome.Fulfilled,
        CustomerComment = "You now have access to finance reports until 2026-12-31.",
        InternalNote = "Added to grp-finance-read (object id 1111).",
        Marker = Marker,
    };

    private static WriteBack NeedsInfo(string marker) => new()
    {
        Outcome = Outcome.NeedsInfo,
        CustomerComment = "Please add an end date.",
        InternalNote = "End date missing.",
        Marker = marker,
    };
}
