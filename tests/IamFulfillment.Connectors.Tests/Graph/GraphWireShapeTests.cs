using System.Text.Json;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace IamFulfillment.Connectors.Tests.Graph;

/// <summary>Exact request and response shapes, against plain WireMock stubs.</summary>
public sealed class GraphWireShapeTests : IDisposable
{
    private const string GroupId = "6f1a2b3c-0000-4000-8000-000000000001";
    private const string UserId = "6f1a2b3c-0000-4000-8000-000000000002";

    private readonly WireMockServer _server = WireMockServer.Start();
    private readonly ServiceProvider _services;

    public GraphWireShapeTests()
    {
        // Batch concurrent requests whatever the rate, so the batch wire shape can be checked with three requests.
        var settings = GraphHarness.Settings(_server.Url + "/v1.0");
        settings["Graph:BatchingMinRate"] = "0";
        _services = GraphHarness.BuildServices(settings);
    }

    private IDirectory Directory => _services.GetRequiredService<IDirectory>();

    public void Dispose()
    {
        _services.Dispose();
        _server.Stop();
    }

    [Fact]
    public async Task AddMember_PostsDirectoryObjectReferenceToMembersRef()
    {
        _server.Given(Request.Create().WithPath($"/v1.0/groups/{GroupId}/members/$ref").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(204).WithHeader("request-id", "req-add-1"));

        var result = await Directory.ApplyAsync(new AddMember(GroupId, UserId, "Finance"), default);

        Assert.Equal(new ChangeResult(ChangeStatus.Applied, "req-add-1"), result);
        var request = Assert.Single(_server.LogEntries).RequestMessage!;
        using var body = JsonDocument.Parse(request.Body!);
        Assert.Equal($"{_server.Url}/v1.0/directoryObjects/{UserId}", body.RootElement.GetProperty("@odata.id").GetString());
        Assert.StartsWith("application/json", request.Headers!["Content-Type"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddMember_GraphAlreadyExistsAnswer_IsNoOpWithRequestId()
    {
        _server.Given(Request.Create().WithPath($"/v1.0/groups/{GroupId}/members/$ref").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(400).WithHeader("Content-Type", "application/json").WithHeader("request-id", "req-add-2")
                .WithBody("""{"error":{"code":"Request_BadRequest","message":"One or more added object references already exist for the following modified properties: 'members'.","innerError":{"date":"2026-11-26T12:00:00","request-id":"req-add-2","client-request-id":"c1"}}}"""));

        var result = await Directory.ApplyAsync(new AddMember(GroupId, UserId, "Finance"), default);

        Assert.Equal(ChangeStatus.NoOp, result.Status);
        Assert.Equal("req-add-2", result.RequestId);
    }

    [Fact]
    public async Task RemoveMember_GraphResourceNotFoundAnswer_IsNoOp()
    {
        _server.Given(Request.Create().WithPath($"/v1.0/groups/{GroupId}/members/{UserId}/$ref").UsingDelete())
            .RespondWith(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "application/json")
                .WithBody("""{"error":{"code":"Request_ResourceNotFound","message":"Resource 'USER' does not exist or one of its queried reference-property objects are not present.","innerError":{"date":"2026-11-26T12:00:00","request-id":"req-rm-1"}}}""".Replace("USER", UserId, StringComparison.Ordinal)));

        var result = await Directory.ApplyAsync(new RemoveMember(GroupId, UserId, "Finance"), default);

        Assert.Equal(ChangeStatus.NoOp, result.Status);
        Assert.Equal("req-rm-1", result.RequestId); // from the error body when the header is missing
    }

    [Fact]
    public async Task RevokeSessions_204WithoutBody_IsApplied()
    {
        _server.Given(Request.Create().WithPath($"/v1.0/users/{UserId}/revokeSignInSessions").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(204));

        var result = await Directory.ApplyAsync(new RevokeSessions(UserId), default);

        Assert.Equal(ChangeStatus.Applied, result.Status);
    }

    [Fact]
    public async Task DisableAccount_PatchesOnlyAccountEnabled()
    {
        _server.Given(Request.Create().WithPath($"/v1.0/users/{UserId}").UsingPatch()).RespondWith(Response.Create().WithStatusCode(204));

        await Directory.ApplyAsync(new DisableAccount(UserId), default);

        using var body = JsonDocument.Parse(Assert.Single(_server.LogEntries).RequestMessage!.Body!);
        var properties = body.RootElement.EnumerateObject().Where(p => !p.Name.StartsWith('@')).ToList();
        var property = Assert.Single(properties);
        Assert.Equal("accountEnabled", property.Name);
        Assert.False(property.Value.GetBoolean());
    }

    [Fact]
    public async Task FindUsers_ByEmployeeId_SendsFilterSelectExpandAndTop()
    {
        _server.Given(Request.Create().WithPath("/v1.0/users").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"value":[]}"""));

        await Directory.FindUsersAsync(PersonKey.EmployeeId, "E100", default);

        var request = Assert.Single(_server.LogEntries).RequestMessage!;
        var query = request.Query!.ToDictionary(q => q.Key.Replace("%24", "$", StringComparison.Ordinal), q => string.Join(",", q.Value));
        Assert.Equal("employeeId eq 'E100'", query["$filter"]);
        Assert.Equal("id,userPrincipalName,displayName,mail,employeeId,employeeType,userType,accountEnabled,department,jobTitle,onPremisesSyncEnabled", query["$select"]);
        Assert.Equal("manager($select=id,displayName,userPrincipalName,mail,accountEnabled)", query["$expand"]);
        Assert.Equal("5", query["$top"]);
        Assert.False(request.Headers!.ContainsKey("ConsistencyLevel"));
    }

    [Fact]
    public async Task Failure_ForbiddenWithRequestIdHeader_IsNotPermittedWithThatId()
    {
        _server.Given(Request.Create().WithPath($"/v1.0/users/{UserId}").UsingPatch())
            .RespondWith(Response.Create().WithStatusCode(403).WithHeader("Content-Type", "application/json").WithHeader("request-id", "req-403")
                .WithBody("""{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"req-403"}}}"""));

        var result = await Directory.ApplyAsync(new DisableAccount(UserId), default);

        Assert.Equal(ChangeStatus.NotPermitted, result.Status);
        Assert.Equal("req-403", result.RequestId);
        Assert.Contains("Insufficient privileges", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_RequestShape_IsRelativeUrlsWithJsonBodiesAndNoAuthorization()
    {
        _server.Given(Request.Create().WithPath($"/v1.0/groups/{GroupId}/members/$ref").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(204).WithDelay(TimeSpan.FromMilliseconds(200)));
        _server.Given(Request.Create().WithPath("/v1.0/$batch").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithHeader("request-id", "req-batch")
                .WithBody("""{"responses":[{"id":"2","status":204,"headers":{}},{"id":"1","status":204,"headers":{}}]}"""));
        var users = new[] { "6f1a2b3c-0000-4000-8000-00000000000a", "6f1a2b3c-0000-4000-8000-00000000000b", "6f1a2b3c-0000-4000-8000-00000000000c" };

        var results = await Task.WhenAll(users.Select(u => Directory.ApplyAsync(new AddMember(GroupId, u, "Finance"), default)));

        Assert.All(results, r => Assert.Equal(ChangeStatus.Applied, r.Status));
        var batch = Assert.Single(_server.LogEntries, e => e.RequestMessage!.Path == "/v1.0/$batch").RequestMessage!;
        using var body = JsonDocument.Parse(batch.Body!);
        var requests = body.RootElement.GetProperty("requests").EnumerateArray().ToList();
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r =>
        {
            Assert.Equal("POST", r.GetProperty("method").GetString());
            Assert.Equal($"/groups/{GroupId}/members/$ref", r.GetProperty("url").GetString());
            Assert.StartsWith("application/json", r.GetProperty("headers").GetProperty("Content-Type").GetString(), StringComparison.Ordinal);
            Assert.StartsWith(_server.Url + "/v1.0/directoryObjects/", r.GetProperty("body").GetProperty("@odata.id").GetString(), StringComparison.Ordinal);
            Assert.False(r.GetProperty("headers").TryGetProperty("Authorization", out _));
            Assert.False(r.TryGetProperty("dependsOn", out _));
        });
        Assert.Equal(2, results.Count(r => r.RequestId == "req-batch")); // a batched request reports the batch's request id
    }
}
