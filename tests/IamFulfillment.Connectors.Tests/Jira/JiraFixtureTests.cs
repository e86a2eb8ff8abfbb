using System.Text.Json;
using System.Text.Json.Nodes;
using IamFulfillment.Connectors.Jira;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace IamFulfillment.Connectors.Tests.Jira;

/// <summary>
/// The connector against raw WireMock stubs that answer with real-shaped JSM and platform payloads from
/// Fixtures/jira: proves the mapping on documented shapes (not only on what the sandbox writes) and the exact
/// requests the connector sends.
/// </summary>
public sealed class JiraFixtureTests : IDisposable
{
    private const string IntegrationAccountId = "712020:0b6f1d6e-7d8c-4f0e-9f51-3a2b1c0d9e8f";
    private const string Maria = "5b10a2844c20165700ede21g";
    private const string Dana = "qm:6fd2b2a1-44b1-4d86-9a7c-1c6ad3c7b1b0:4ab3e5f3-9e1b-4a57-9c77-2c51c5f1f0aa";
    private const string Marker = "[iamf:r0123456789abcdef0123:fulfilled]";

    private readonly WireMockServer _server = WireMockServer.Start();
    private readonly ServiceProvider _provider;
    private readonly ITicketSystem _jira;

    public JiraFixtureTests()
    {
        Stub("GET", "/rest/servicedeskapi/request/HR-12", 200, "request_HR-12.json");
        Stub("GET", "/rest/servicedeskapi/request/HR-12/approval", 200, "approvals_HR-12.json");
        Stub("GET", "/rest/api/3/issue/HR-12", 200, "issue_HR-12.json");
        Stub("GET", "/rest/servicedeskapi/request/HR-12/comment", 200, "comments_HR-12.json");
        _server.Given(Request.Create().WithPath("/rest/api/3/issue/HR-12/transitions").UsingPost()).RespondWith(Response.Create().WithStatusCode(204));
        _server.Given(Request.Create().WithPath("/rest/servicedeskapi/request/HR-12/comment").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json").WithBody("""{"id":"10050","public":true}"""));

        var services = new ServiceCollection().AddLogging();
        services.AddJira(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jira:BaseUrl"] = _server.Url,
            ["Jira:Email"] = "iam-bot@acme.example",
            ["Jira:ApiToken"] = "fixture-token",
            ["Jira:IntegrationAccountId"] = IntegrationAccountId,
            ["Jira:FieldMap:Entitlements"] = "customfield_10050",
            ["Jira:FieldMap:Justification"] = "customfield_10051",
            ["Jira:FieldMap:EndDate"] = "customfield_10052",
            ["Jira:FieldMap:TerminationDate"] = "customfield_10054",
            ["Jira:FieldMap:Reason"] = "customfield_10056",
            ["Jira:RequestTypes:25"] = "AccessGrant",
            ["Jira:Transitions:Fulfilled"] = "Resolve this issue",
        }).Build());
        _provider = services.BuildServiceProvider();
        _jira = _provider.GetRequiredService<ITicketSystem>();
    }

    public void Dispose()
    {
        _provider.Dispose();
        _server.Dispose();
    }

    public static TheoryData<string, string, string?> FieldValues()
    {
        var data = new TheoryData<string, string, string?>();
        foreach (var item in JsonNode.Parse(File.ReadAllText(FixturePath("field_values.json")))!.AsArray())
        {
            data.Add(item!["case"]!.GetValue<string>(), item["value"]?.ToJsonString() ?? "null", item["expected"]?.GetValue<string>());
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FieldValues))]
    public void FieldValue_RealShape_BecomesPlainText(string @case, string json, string? expected)
    {
        using var document = JsonDocument.Parse(json);

        Assert.True(expected == JiraFieldMap.ToText(document.RootElement), $"{@case}: expected {expected ?? "null"}, got {JiraFieldMap.ToText(document.RootElement) ?? "null"}");
    }

    [Fact]
    public async Task Read_DocumentedPayloads_MapToTheSnapshot()
    {
        var ticket = await _jira.ReadAsync("HR-12", CancellationToken.None);

        Assert.Equal("HR-12", ticket.Number);
        Assert.Equal("25", ticket.CatalogItem);
        Assert.Equal("AccessGrant", ticket.Fields[RequestFields.RequestType]);
        Assert.Equal(TicketStatus.Open, ticket.Status);
        Assert.Equal("Waiting for support", ticket.RawState);
        Assert.Equal(new ItsmPerson(Maria, "Maria Manager", "maria.manager@acme.example"), ticket.OpenedBy);
        Assert.Equal(new ItsmPerson(Dana, "Dana Newhire", null), ticket.People[RequestFields.RequestedFor]);
        Assert.Equal("grp-payroll-read", ticket.Fields[RequestFields.Entitlements]);
        Assert.Equal("Month-end payroll checks for @Maria Manager's team.\nSee https://wiki.acme.example/payroll\nread only", ticket.Fields[RequestFields.Justification]);
        Assert.Equal("2026-12-31", ticket.Fields[RequestFields.EndDate]);
        Assert.Equal("2026-12-31T17:30:00.000+01:00", ticket.Fields[RequestFields.TerminationDate]);
        Assert.Null(ticket.Fields[RequestFields.Reason]);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 9, 15, 2, 114, TimeSpan.FromHours(1)), ticket.CreatedAt);
        Assert.Equal("Access to the payroll reports", ticket.Summary);

        Assert.Collection(ticket.Approvals.OrderBy(a => a.Id, StringComparer.Ordinal),
            a =>
            {
                Assert.Equal($"7:{Maria}", a.Id);
                Assert.Equal(ApprovalState.Approved, a.State);
                Assert.Equal(new DateTimeOffset(2026, 11, 21, 9, 40, 0, TimeSpan.Zero), a.DecidedAt);
                Assert.Equal("Line manager approval", a.StageName);
                Assert.Equal(new DateTimeOffset(2026, 11, 20, 8, 15, 3, TimeSpan.Zero), a.CreatedAt);
            },
            a =>
            {
                Assert.Equal("7:5b10ac8d82e05b22cc7d4ef5", a.Id);
                Assert.Equal(ApprovalState.NotRequired, a.State);
                Assert.Null(a.Approver.Email);
            });

        // The integration account's own end-date change and the status transition are not material changes.
        var change = Assert.Single(ticket.MaterialChanges);
        Assert.Equal(new FieldChange(RequestFields.Entitlements, new DateTimeOffset(2026, 11, 20, 10, 2, 11, 480, TimeSpan.FromHours(1)), Maria, "grp-payroll-admin", "grp-payroll-read"), change);
    }

    [Fact]
    public async Task Read_AsksForMappedFieldsChangelogAndTransitionsInOneIssueCall()
    {
        await _jira.ReadAsync("HR-12", CancellationToken.None);

        var issueCall = Assert.Single(Requests(), e => e.Path == "/rest/api/3/issue/HR-12");
        var fields = issueCall.Query!["fields"].Single()!.Split(',');
        Assert.Superset(new HashSet<string>(["customfield_10050", "customfield_10051", "customfield_10052", "customfield_10054", "customfield_10056", "creator", "reporter", "status", "summary", "created", "updated"]), new HashSet<string>(fields));
        Assert.Equal("changelog,transitions", issueCall.Query["expand"].Single());
        Assert.Equal(3, Requests().Count);
        Assert.All(Requests(), e => Assert.StartsWith("Basic ", e.Headers!["Authorization"].Single(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteBack_DocumentedTransitionFromTheRead_PostsItsIdAndTheCommentShapes()
    {
        var ticket = await _jira.ReadAsync("HR-12", CancellationToken.None);

        var receipt = await _jira.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "Done: payroll reports (read).", InternalNote = "Added.", Marker = Marker }, CancellationToken.None);

        Assert.Equal("Resolved", receipt.StateWritten);
        var transition = Assert.Single(Requests(), e => e.Method == "POST" && e.Path.EndsWith("/transitions", StringComparison.Ordinal));
        Assert.Equal("""{"transition":{"id":"851"}}""", transition.Body);
        var comments = Requests().Where(e => e.Method == "POST" && e.Path.EndsWith("/comment", StringComparison.Ordinal))
            .Select(e => JsonNode.Parse(e.Body!)!).ToList();
        Assert.Equal(2, comments.Count);
        Assert.Contains(comments, c => c["public"]!.GetValue<bool>() && c["body"]!.GetValue<string>() == "Done: payroll reports \\(read\\).\n\\[iamf:r0123456789abcdef0123:fulfilled\\]");
        Assert.Contains(comments, c => !c["public"]!.GetValue<bool>() && c["body"]!.GetValue<string>().StartsWith("Added.\n", StringComparison.Ordinal));
        Assert.DoesNotContain(Requests(), e => e.Method == "GET" && e.Path.EndsWith("/transitions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ShowsMarker_DocumentedComments_TrustsOnlyTheIntegrationAccount()
    {
        var ticket = await _jira.ReadAsync("HR-12", CancellationToken.None);

        Assert.True(await _jira.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
        Assert.False(await _jira.ShowsMarkerAsync(ticket, "[iamf:r0123456789abcdef0123:rejected]", CancellationToken.None));
        var call = Requests().First(e => e.Method == "GET" && e.Path.EndsWith("/comment", StringComparison.Ordinal));
        Assert.Equal("true", call.Query!["internal"].Single());
        Assert.Equal("true", call.Query["public"].Single());
    }

    [Fact]
    public async Task Read_NotFoundShape_ThrowsTicketNotFound()
    {
        _server.Given(Request.Create().WithPath("/rest/api/3/issue/HR-13").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "application/json")
                .WithBody("""{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"""));
        _server.Given(Request.Create().WithPath("/rest/servicedeskapi/request/HR-13*").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "application/json")
                .WithBody("""{"errorMessage":"Request does not exist or you do not have permission to see it.","i18nErrorMessage":{"i18nKey":"sd.request.error.not.found","parameters":[]}}"""));

        await Assert.ThrowsAsync<TicketNotFoundException>(() => _jira.ReadAsync("HR-13", CancellationToken.None));
    }

    private List<WireMock.IRequestMessage> Requests() => _server.LogEntries.Select(e => e.RequestMessage!).ToList();

    private void Stub(string method, string path, int status, string fixture) =>
        _server.Given(Request.Create().WithPath(path).UsingMethod(method))
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(File.ReadAllText(FixturePath(fixture))));

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "jira", name);
}
