using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Jira;

namespace IamFulfillment.Connectors.Tests.Jira;

public sealed class JiraWriteBackTests : IDisposable
{
    private const string Marker = "[iamf:r0123456789abcdef0123:fulfilled]";
    private readonly JiraWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task WriteBack_Fulfilled_PostsPublicCommentInternalNoteAndResolvesWithTheTransitionsFromTheRead()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.ResetCalls();

        var receipt = await connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None);

        Assert.Equal("Resolved", receipt.StateWritten);
        Assert.Equal("Resolved", _world.Sandbox.StatusOf(key));
        var comments = _world.Sandbox.Comments(key);
        Assert.Equal(2, comments.Count);
        var customer = Assert.Single(comments, c => c.Public);
        var note = Assert.Single(comments, c => !c.Public);
        Assert.StartsWith("You now have access to finance reports until 2026\\-12\\-31.", customer.Body, StringComparison.Ordinal);
        Assert.EndsWith("\n" + IamFulfillment.Core.Text.Markup.ForJiraWiki(Marker), customer.Body, StringComparison.Ordinal);
        Assert.All(comments, c => Assert.Equal(_world.Sandbox.IntegrationUser.AccountId, c.AuthorId));
        Assert.Contains("Added to grp\\-finance\\-read", note.Body, StringComparison.Ordinal);

        // The read already carried the transitions available now: no GET of transitions, one POST.
        Assert.Equal(0, _world.Sandbox.CallCount("GET"));
        Assert.Equal(1, _world.Sandbox.CallCount("POST", "/transitions"));
        Assert.Equal(2, _world.Sandbox.CallCount("POST", "/comment"));
    }

    [Fact]
    public async Task WriteBack_TransitionByNameWithoutTheRead_GetsTransitionsOnce()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None) with { }; // a copy: not the snapshot the read saw
        _world.Sandbox.ResetCalls();

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, CustomerComment = "Please add an end date.", Marker = Marker }, CancellationToken.None);

        Assert.Equal("Waiting for customer", receipt.StateWritten);
        Assert.Equal("Waiting for customer", _world.Sandbox.StatusOf(key));
        Assert.Equal(1, _world.Sandbox.CallCount("GET", "/transitions"));
        Assert.Equal(1, _world.Sandbox.CallCount("POST", "/transitions"));
        Assert.Equal(2, _world.Sandbox.Calls.Count(c => c.Method != "GET"));
    }

    [Fact]
    public async Task WriteBack_TransitionById_MakesNoTransitionsGet()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector(s => s["Jira:Transitions:Rejected"] = "31");
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.ResetCalls();

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Rejected, CustomerComment = "Your manager declined.", Marker = Marker }, CancellationToken.None);

        Assert.Equal("Declined", receipt.StateWritten);
        Assert.Equal("Declined", _world.Sandbox.StatusOf(key));
        Assert.Equal(0, _world.Sandbox.CallCount("GET"));
    }

    [Fact]
    public async Task WriteBack_Escalated_SetsTheQueueFieldsAndTakesTheQueueTransition()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        var queue = new EscalationQueue
        {
            Id = "privileged",
            JiraTransition = "Escalate",
            JiraFields = new Dictionary<string, string>
            {
                [JiraWorld.EscalationTeam] = """{"value":"IAM privileged"}""",
                ["labels"] = """["iam-escalated"]""",
            },
        };

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated, Queue = queue, InternalNote = "Privileged tier: needs a person.", CustomerComment = "A person will handle this.", Marker = Marker,
        }, CancellationToken.None);

        Assert.Equal("Escalated", receipt.StateWritten);
        Assert.Equal("Escalated", _world.Sandbox.StatusOf(key));
        Assert.Equal("IAM privileged", _world.Sandbox.FieldValue(key, JiraWorld.EscalationTeam)?.GetValue<string>());
        Assert.Equal("iam-escalated", _world.Sandbox.FieldValue(key, "labels")?[0]?.GetValue<string>());
        Assert.Equal(1, _world.Sandbox.CallCount("PUT", "/issue/"));

        // The service's own edits are in the changelog, and a later read does not count them as material changes.
        Assert.Contains(_world.Sandbox.Changelog(key), h => h.AuthorId == _world.Sandbox.IntegrationUser.AccountId && h.Items.Any(i => i.FieldId == JiraWorld.EscalationTeam));
        var after = await connector.ReadAsync(key, CancellationToken.None);
        Assert.Empty(after.MaterialChanges);
    }

    [Fact]
    public async Task WriteBack_EscalatedWithoutQueueTransition_UsesTheConfiguredOne()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector(s => s["Jira:Transitions:Escalated"] = "41");
        var ticket = await connector.ReadAsync(key, CancellationToken.None);

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated, Queue = new EscalationQueue { Id = "iam" }, InternalNote = "Needs a person.", Marker = Marker,
        }, CancellationToken.None);

        Assert.Equal("Escalated", receipt.StateWritten);
        Assert.Equal(0, _world.Sandbox.CallCount("PUT"));
    }

    [Fact]
    public async Task WriteBack_TransitionNotAvailable_ThrowsNamingTransitionsAndWritesNothing()
    {
        var key = _world.CreateAccessRequest(status: "Waiting for approval");
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);

        var error = await Assert.ThrowsAsync<ConnectorException>(() => connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None));

        Assert.Equal("Jira", error.System);
        Assert.Contains("\"Resolve\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("Jira:Transitions:Fulfilled", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"Waiting for approval\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"Decline\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"Cancel request\"", error.Message, StringComparison.Ordinal);
        Assert.Empty(_world.Sandbox.Comments(key));
        Assert.Equal("Waiting for approval", _world.Sandbox.StatusOf(key));
    }

    [Fact]
    public async Task WriteBack_EscalationTransitionNotAvailable_StillWritesTheEscalationSayingWhy()
    {
        var key = _world.CreateAccessRequest(status: "Waiting for approval");
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated, Queue = new EscalationQueue { Id = "onCall", JiraTransition = "Escalate" },
            InternalNote = "ESCALATION: the directory is failing.", CustomerComment = "A person will finish this.", Marker = Marker,
        }, CancellationToken.None);

        Assert.Null(receipt.StateWritten);
        Assert.Equal("Waiting for approval", _world.Sandbox.StatusOf(key));
        var note = Assert.Single(_world.Sandbox.Comments(key), c => !c.Public);
        Assert.Contains("not moved", note.Body, StringComparison.Ordinal);
        Assert.Contains("Escalate", note.Body, StringComparison.Ordinal);
        Assert.Single(_world.Sandbox.Comments(key), c => c.Public);
    }

    [Fact]
    public async Task WriteBack_WorkflowMovedSinceTheRead_ResolvesTheTransitionAgain()
    {
        // Two transitions share the name "Resolve", from different statuses: the one the read saw is gone by the write.
        using var world = new JiraWorld(new JiraSandboxOptions { DefaultWorkflow = false });
        world.Sandbox.AddStatus("Open", "new");
        world.Sandbox.AddStatus("Working", "indeterminate");
        world.Sandbox.AddStatus("Done", "done");
        world.Sandbox.AddTransition("21", "Resolve", "Done", "Open");
        world.Sandbox.AddTransition("22", "Resolve", "Done", "Working");
        world.Sandbox.AddTransition("31", "Start", "Working", "Open");
        var key = world.CreateAccessRequest();
        var connector = world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        world.Sandbox.Transition(key, "Start", world.Carol.AccountId);

        var receipt = await connector.WriteBackAsync(ticket, Fulfilled(), CancellationToken.None);

        Assert.Equal("Done", receipt.StateWritten);
        Assert.Equal("Done", world.Sandbox.StatusOf(key));
        Assert.Equal(2, world.Sandbox.CallCount("POST", "/transitions"));
        Assert.Equal(1, world.Sandbox.CallCount("GET", "/transitions"));
    }

    [Fact]
    public async Task WriteBack_NeedsInfoWhileAlreadyWaitingForCustomer_KeepsTheStatusAndComments()
    {
        var key = _world.CreateAccessRequest(status: "Waiting for customer");
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, CustomerComment = "Still missing: the end date.", Marker = Marker }, CancellationToken.None);

        Assert.Equal("Waiting for customer", receipt.StateWritten);
        Assert.Single(_world.Sandbox.Comments(key));
        Assert.Equal(0, _world.Sandbox.CallCount("POST", "/transitions"));
    }

    [Fact]
    public async Task WriteBack_WithoutStateChange_WritesOnlyTheNote()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.ResetCalls();

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated, ChangeState = false, InternalNote = "Dry run: would escalate.", Marker = Marker,
            Queue = new EscalationQueue { Id = "iam", JiraTransition = "Escalate", JiraFields = new Dictionary<string, string> { ["labels"] = "[\"x\"]" } },
        }, CancellationToken.None);

        Assert.Null(receipt.StateWritten);
        Assert.Equal("Waiting for support", _world.Sandbox.StatusOf(key));
        var note = Assert.Single(_world.Sandbox.Comments(key));
        Assert.False(note.Public);
        Assert.Single(_world.Sandbox.Calls);
    }

    [Fact]
    public async Task WriteBack_TicketTextWithMarkupAndLinks_IsNeutralisedAndTheMarkerStillFound()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        const string Hostile = "Justification: [link|http://evil.example/x] {html}<b>x</b>{html} !http://evil.example/p.png! *urgent*";

        await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Escalated, ChangeState = false, InternalNote = Hostile, Marker = Marker }, CancellationToken.None);

        var body = Assert.Single(_world.Sandbox.Comments(key)).Body;
        Assert.DoesNotContain("[link|http://evil", body, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", body, StringComparison.Ordinal);
        Assert.DoesNotContain("{html}", body, StringComparison.Ordinal);
        Assert.Contains("\\!http\u200B://evil.example/p.png\\!", body, StringComparison.Ordinal); // no image macro
        Assert.Contains("\\[link\\|http\u200B://evil.example/x\\]", body, StringComparison.Ordinal);
        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
    }

    [Fact]
    public async Task ShowsMarker_AfterWriteBack_IsTrueAndFalseForAnotherMarker()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        Assert.False(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));

        await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Escalated, ChangeState = false, InternalNote = "Interim note.", Marker = Marker }, CancellationToken.None);

        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
        Assert.False(await connector.ShowsMarkerAsync(ticket, "[iamf:r0123456789abcdef0123:rejected]", CancellationToken.None));
    }

    [Fact]
    public async Task ShowsMarker_MarkerTypedByAPerson_IsNotTrusted()
    {
        var key = _world.CreateAccessRequest();
        _world.Sandbox.AddComment(key, _world.Alice.AccountId, "Done already " + Marker);
        _world.Sandbox.AddComment(key, _world.Carol.AccountId, IamFulfillment.Core.Text.Markup.ForJiraWiki(Marker), isPublic: false);
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);

        Assert.False(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
    }

    [Fact]
    public async Task ShowsMarker_ManyComments_PagesUntilTheMarker()
    {
        var key = _world.CreateAccessRequest();
        for (var i = 0; i < 230; i++)
        {
            _world.Sandbox.AddComment(key, _world.Alice.AccountId, $"comment {i}");
        }

        _world.Sandbox.AddComment(key, _world.Sandbox.IntegrationUser.AccountId, "Internal\n" + IamFulfillment.Core.Text.Markup.ForJiraWiki(Marker), isPublic: false);
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.ResetCalls();

        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
        Assert.Equal(3, _world.Sandbox.CallCount("GET", "/comment"));
    }

    private static WriteBack Fulfilled() => new()
    {
        Outcome = Outcome.Fulfilled,
        CustomerComment = "You now have access to finance reports until 2026-12-31.",
        InternalNote = "Added to grp-finance-read (object id 1111).",
        Marker = Marker,
    };
}
