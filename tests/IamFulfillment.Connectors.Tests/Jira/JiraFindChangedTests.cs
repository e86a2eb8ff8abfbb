using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Web;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Jira;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Connectors.Tests.Jira;

/// <summary>Reconciliation's search on Jira: the enhanced search (GET /rest/api/3/search/jql), connector and sandbox.</summary>
public sealed class JiraFindChangedTests : IDisposable
{
    private const string SearchPath = "/rest/api/3/search/jql";
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(T0);
    private JiraWorld? _world;

    private JiraWorld World => _world ??= NewWorld();

    public void Dispose() => _world?.Dispose();

    [Fact]
    public async Task FindChanged_OpenRequestsChangedSince_ComeOldestFirstWithDeskAndRequestType_NotThoseChangedBeforeOrDone()
    {
        var edited = World.CreateAccessRequest(); // 12:00, edited at 12:18
        _clock.SetUtcNow(T0.AddMinutes(10).AddSeconds(10));
        var justBefore = World.CreateAccessRequest(); // 12:10:10: inside the rounded minute, before since
        _clock.SetUtcNow(T0.AddMinutes(11));
        var removal = World.Sandbox.CreateRequest(new JiraRequestSeed
        {
            ServiceDeskId = World.Desk.Id, RequestTypeId = World.RemoveAccess.Id, ReporterId = World.Dave.AccountId,
        });
        _clock.SetUtcNow(T0.AddMinutes(12));
        var commented = World.CreateAccessRequest();
        _clock.SetUtcNow(T0.AddMinutes(15));
        var resolved = World.CreateAccessRequest();
        _clock.SetUtcNow(T0.AddMinutes(16));
        World.Sandbox.Transition(resolved, "Resolve", World.Carol.AccountId);
        _clock.SetUtcNow(T0.AddMinutes(18));
        World.Sandbox.EditFields(edited, World.Carol.AccountId, new Dictionary<string, object?> { [JiraWorld.Justification] = "Year-end reporting" });
        _clock.SetUtcNow(T0.AddMinutes(20));
        World.Sandbox.AddComment(commented, World.Alice.AccountId, "Any news?");
        _clock.SetUtcNow(T0.AddMinutes(30));

        var changes = await World.Connector(time: _clock).FindChangedAsync(T0.AddMinutes(10).AddSeconds(30), 50, CancellationToken.None);

        Assert.Equal(
        [
            new TicketChange(removal, T0.AddMinutes(11), World.Desk.Id, World.RemoveAccess.Id),
            new TicketChange(edited, T0.AddMinutes(18), World.Desk.Id, World.AccessRequest.Id),
            new TicketChange(commented, T0.AddMinutes(20), World.Desk.Id, World.AccessRequest.Id),
        ], changes);
        Assert.DoesNotContain(justBefore, changes.Select(c => c.Key));
        Assert.DoesNotContain(resolved, changes.Select(c => c.Key));
    }

    [Fact]
    public async Task FindChanged_SendsRelativeJqlInMinutesRoundedUpWithOneToSpare_ForOpenIssuesOrderedByUpdate()
    {
        World.CreateAccessRequest();
        _clock.SetUtcNow(T0.AddMinutes(30));

        await World.Connector(time: _clock).FindChangedAsync(T0.AddMinutes(10).AddSeconds(30), 50, CancellationToken.None);

        var query = HttpUtility.ParseQueryString(Assert.Single(World.Sandbox.Calls, c => c.Path == SearchPath).Query);
        Assert.Contains("updated >= \"-", query["jql"], StringComparison.Ordinal);
        Assert.Contains("statusCategory != Done", query["jql"], StringComparison.Ordinal);
        Assert.Equal("(project = HR) AND updated >= \"-21m\" AND statusCategory != Done ORDER BY updated ASC", query["jql"]); // 19.5 minutes → 20, and one more
        Assert.Equal("updated,customfield_10010", query["fields"]);
        Assert.Null(query["nextPageToken"]);
    }

    [Fact]
    public async Task FindChanged_MoreIssuesThanOnePage_FollowsNextPageTokenToTheLastPage()
    {
        _world = NewWorld(searchMaxResults: 2);
        var keys = CreateOneAMinute(World, 5);

        var changes = await World.Connector(time: _clock).FindChangedAsync(T0, 50, CancellationToken.None);

        Assert.Equal(keys, changes.Select(c => c.Key));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => T0.AddMinutes(i)), changes.Select(c => c.ChangedAt));
        var searches = World.Sandbox.Calls.Where(c => c.Path == SearchPath).Select(c => HttpUtility.ParseQueryString(c.Query)).ToList();
        Assert.False(changes.More);
        Assert.Equal(3, searches.Count); // 2 + 2 + 1: the last page has no nextPageToken
        Assert.Null(searches[0]["nextPageToken"]);
        Assert.All(searches.Skip(1), q => Assert.False(string.IsNullOrEmpty(q["nextPageToken"])));
        Assert.Equal(3, World.Sandbox.CallsByEndpoint()["GET " + SearchPath]);
    }

    [Fact]
    public async Task FindChanged_StopsAtMax_WithoutReadingFurtherPages()
    {
        _world = NewWorld(searchMaxResults: 2);
        var keys = CreateOneAMinute(World, 5);

        var changes = await World.Connector(time: _clock).FindChangedAsync(T0, 3, CancellationToken.None);

        Assert.Equal(keys.Take(3), changes.Select(c => c.Key));
        Assert.True(changes.More); // stopped at max with pages left
        var searches = World.Sandbox.Calls.Where(c => c.Path == SearchPath).Select(c => HttpUtility.ParseQueryString(c.Query)).ToList();
        Assert.Equal(["3", "1"], searches.Select(q => q["maxResults"])); // asks only for what is still missing
    }

    [Fact]
    public async Task FindChanged_WithoutReconciliationJql_SearchesNothing_ForTheWholeSiteIsNoScope()
    {
        World.CreateAccessRequest();
        _clock.SetUtcNow(T0.AddMinutes(5));

        var changes = await World.Connector(s => s["Jira:ReconciliationJql"] = null, time: _clock).FindChangedAsync(T0.AddMinutes(-1), 50, CancellationToken.None);

        Assert.Empty(changes);
        Assert.DoesNotContain(World.Sandbox.Calls, c => c.Path == SearchPath);
    }

    [Fact]
    public async Task FindChanged_ChangeByTheIntegrationAccount_IsFoundAllTheSame()
    {
        var key = World.CreateAccessRequest();
        _clock.SetUtcNow(T0.AddHours(2));
        World.Sandbox.AddComment(key, World.Sandbox.IntegrationUser.AccountId, "Working on it.", isPublic: false);
        _clock.SetUtcNow(T0.AddHours(2).AddMinutes(5));

        var changes = await World.Connector(time: _clock).FindChangedAsync(T0.AddHours(1), 50, CancellationToken.None);

        Assert.Equal(new TicketChange(key, T0.AddHours(2), World.Desk.Id, World.AccessRequest.Id), Assert.Single(changes));
    }

    [Fact]
    public async Task FindChanged_TransientFailure_IsRetriedAsARead()
    {
        World.Sandbox.Time = TimeProvider.System; // the retry's backoff runs on the real clock
        var since = TimeProvider.System.GetUtcNow().AddMinutes(-1);
        var key = World.CreateAccessRequest();
        World.Sandbox.Faults.RetryAfterSeconds = 0;
        World.Sandbox.Faults.Enqueue(SandboxFaultKind.Unavailable, "GET", SearchPath);

        var changes = await World.Connector().FindChangedAsync(since, 50, CancellationToken.None);

        Assert.Equal(key, Assert.Single(changes).Key);
        Assert.Equal(2, World.Sandbox.CallCount("GET", SearchPath));
    }

    [Fact]
    public async Task Search_JqlTheSandboxSupports_FiltersByProjectAndCategory_AndOrdersByUpdate()
    {
        var first = World.CreateAccessRequest();
        _clock.SetUtcNow(T0.AddMinutes(1));
        var second = World.CreateAccessRequest();
        _clock.SetUtcNow(T0.AddMinutes(2));
        World.Sandbox.Transition(first, "Resolve", World.Carol.AccountId);
        _clock.SetUtcNow(T0.AddMinutes(3));
        World.Sandbox.Transition(second, "Decline", World.Carol.AccountId);
        var open = World.CreateAccessRequest();
        var otherDesk = World.Sandbox.AddServiceDesk("IT", "IT support");
        var elsewhere = World.Sandbox.CreateRequest(new JiraRequestSeed
        {
            ServiceDeskId = otherDesk.Id, RequestTypeId = World.Sandbox.AddRequestType(otherDesk.Id, "Laptop", "31").Id, ReporterId = World.Dave.AccountId,
        });
        _clock.SetUtcNow(T0.AddHours(1));

        var done = await SearchAsync("project = HR AND updated >= -1h AND statusCategory = Done ORDER BY updated DESC", "maxResults=10&fields=updated,status");
        var all = await SearchAsync("updated >= \"-1d\"", "fields=updated");

        Assert.Equal([second, first], Keys(done));
        Assert.Equal("2026-11-27T12:03:00.000+0000", done["issues"]![0]!["fields"]!["updated"]!.GetValue<string>());
        Assert.Equal("Declined", done["issues"]![0]!["fields"]!["status"]!["name"]!.GetValue<string>());
        Assert.True(done["isLast"]!.GetValue<bool>());
        Assert.False(done.ContainsKey("nextPageToken"));
        Assert.Equal([elsewhere, open, second, first], Keys(all)); // without ORDER BY: newest created first
    }

    [Fact]
    public async Task Search_Pages_CarryAnOpaqueTokenUntilTheLastPage_AndOnlyTheRequestedFields()
    {
        var keys = CreateOneAMinute(World, 3);

        var page1 = await SearchAsync("statusCategory != Done ORDER BY updated ASC", $"maxResults=2&fields=updated,{World.Sandbox.Options.RequestTypeFieldId}");
        var token = page1["nextPageToken"]!.GetValue<string>();
        var page2 = await SearchAsync("statusCategory != Done ORDER BY updated ASC", $"maxResults=2&nextPageToken={Uri.EscapeDataString(token)}");

        Assert.Equal(keys.Take(2), Keys(page1));
        Assert.False(page1["isLast"]!.GetValue<bool>());
        var fields = page1["issues"]![0]!["fields"]!.AsObject();
        Assert.Equal(new[] { "updated", World.Sandbox.Options.RequestTypeFieldId }.Order(StringComparer.Ordinal), fields.Select(f => f.Key).Order(StringComparer.Ordinal));
        Assert.Equal(World.AccessRequest.Id, fields[World.Sandbox.Options.RequestTypeFieldId]!["requestType"]!["id"]!.GetValue<string>());
        Assert.Equal(World.Desk.Id, fields[World.Sandbox.Options.RequestTypeFieldId]!["requestType"]!["serviceDeskId"]!.GetValue<string>());
        Assert.Equal(keys.Skip(2), Keys(page2));
        Assert.True(page2["isLast"]!.GetValue<bool>());
        Assert.False(page2.ContainsKey("nextPageToken"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ORDER BY updated ASC")]
    [InlineData("updated >= \"2026-11-27 12:00\"")]
    [InlineData("updated >= \"-5m\" OR project = HR")]
    [InlineData("assignee = currentUser()")]
    [InlineData("summary ~ \"access\"")]
    [InlineData("statusCategory != Finished")]
    [InlineData("project = NOPE")]
    [InlineData("updated >= \"-5m\" ORDER BY key")]
    [InlineData("updated >= \"-5m")]
    [InlineData("(project = HR AND updated >= -5m")]
    public async Task Search_UnboundedOrUnsupportedJql_Answers400WithErrorMessages(string jql)
    {
        World.CreateAccessRequest();

        using var response = await SendSearchAsync(jql, "fields=updated");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.NotEmpty(body["errorMessages"]!.AsArray());
        Assert.Empty(body["errors"]!.AsObject());
        if (jql.Length == 0 || jql.StartsWith("ORDER", StringComparison.Ordinal))
        {
            Assert.Contains("Unbounded JQL", body["errorMessages"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Sandbox_UpdatedFollowsTheSandboxClock_OnCreationCommentTransitionAndEdit()
    {
        var key = World.CreateAccessRequest();
        var created = await UpdatedAsync(key);
        _clock.SetUtcNow(T0.AddMinutes(1));
        World.Sandbox.AddComment(key, World.Alice.AccountId, "Hello");
        var commented = await UpdatedAsync(key);
        _clock.SetUtcNow(T0.AddMinutes(2));
        World.Sandbox.Transition(key, "Start progress", World.Carol.AccountId);
        var transitioned = await UpdatedAsync(key);
        _clock.SetUtcNow(T0.AddMinutes(3));
        World.Sandbox.EditFields(key, World.Carol.AccountId, new Dictionary<string, object?> { ["summary"] = "Finance reports" });
        var edited = await UpdatedAsync(key);

        Assert.Equal(
            ["2026-11-27T12:00:00.000+0000", "2026-11-27T12:01:00.000+0000", "2026-11-27T12:02:00.000+0000", "2026-11-27T12:03:00.000+0000"],
            [created, commented, transitioned, edited]);
    }

    private JiraWorld NewWorld(int? searchMaxResults = null)
    {
        var world = searchMaxResults is { } max ? new JiraWorld(new JiraSandboxOptions { SearchMaxResults = max }) : new JiraWorld();
        world.Sandbox.Time = _clock;
        return world;
    }

    /// <summary>Open requests created a minute apart from <see cref="T0"/>; the clock is left a minute after the last.</summary>
    private List<string> CreateOneAMinute(JiraWorld world, int count)
    {
        var keys = new List<string>();
        for (var i = 0; i < count; i++)
        {
            _clock.SetUtcNow(T0.AddMinutes(i));
            keys.Add(world.CreateAccessRequest());
        }

        _clock.SetUtcNow(T0.AddMinutes(count));
        return keys;
    }

    /// <summary>The issue's <c>updated</c> as the platform API shows it.</summary>
    private async Task<string> UpdatedAsync(string key)
    {
        using var client = Client();
        var issue = JsonNode.Parse(await client.GetStringAsync($"rest/api/3/issue/{key}?fields=updated"))!;
        return issue["fields"]!["updated"]!.GetValue<string>();
    }

    private async Task<JsonObject> SearchAsync(string jql, string otherParameters)
    {
        using var response = await SendSearchAsync(jql, otherParameters);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private async Task<HttpResponseMessage> SendSearchAsync(string jql, string otherParameters)
    {
        using var client = Client();
        return await client.GetAsync($"rest/api/3/search/jql?jql={Uri.EscapeDataString(jql)}&{otherParameters}");
    }

    private HttpClient Client()
    {
        var options = World.Sandbox.Options;
        var client = new HttpClient { BaseAddress = new Uri(World.Sandbox.Url + "/") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.IntegrationEmail}:{options.IntegrationApiToken}")));
        return client;
    }

    private static List<string> Keys(JsonObject page) => page["issues"]!.AsArray().Select(i => i!["key"]!.GetValue<string>()).ToList();
}
