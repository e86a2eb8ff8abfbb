using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Connectors.Tests.Graph;

/// <summary>The sandbox itself, over raw HTTP: it must refuse what Graph refuses, or connector tests prove nothing.</summary>
public sealed class GraphSandboxTests : IDisposable
{
    private readonly GraphSandbox _sandbox = GraphSandbox.Start(new GraphSandboxOptions { ShuffleBatchResponses = false });
    private readonly HttpClient _http = new();

    public void Dispose()
    {
        _http.Dispose();
        _sandbox.Dispose();
    }

    [Fact]
    public async Task Errors_UseGraphsEnvelopeAndEveryResponseHasARequestId()
    {
        using var response = await _http.GetAsync($"{_sandbox.BaseUrl}/users/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var requestId = Assert.Single(response.Headers.GetValues("request-id"));
        var error = (await Json(response))["error"]!;
        Assert.Equal("Request_ResourceNotFound", error["code"]!.GetValue<string>());
        Assert.Equal(requestId, error["innerError"]!["request-id"]!.GetValue<string>());
        Assert.NotNull(error["innerError"]!["date"]);
    }

    [Fact]
    public async Task Users_ExtensionAttributeWithoutAdvancedQuery_Is400AndWithItCounts()
    {
        _sandbox.AddUser(new SandboxUser { UserPrincipalName = "a@contoso.test", OnPremisesExtensionAttributes = { ["extensionAttribute5"] = "x" } });
        var url = $"{_sandbox.BaseUrl}/users?$filter=onPremisesExtensionAttributes/extensionAttribute5 eq 'x'";

        using var plain = await _http.GetAsync(url);
        using var advanced = new HttpRequestMessage(HttpMethod.Get, url + "&$count=true");
        advanced.Headers.Add("ConsistencyLevel", "eventual");
        using var counted = await _http.SendAsync(advanced);

        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Equal("Request_UnsupportedQuery", (await Json(plain))["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, counted.StatusCode);
        Assert.Equal(1, (await Json(counted))["@odata.count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Users_AdvancedQueryWithExpand_Is400()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_sandbox.BaseUrl}/users?$filter=employeeType eq 'x'&$count=true&$expand=manager");
        request.Headers.Add("ConsistencyLevel", "eventual");

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("mail eq 'o''brien@contoso.test'", 1)]
    [InlineData("(mail eq 'nobody@contoso.test' or userPrincipalName eq 'OB@contoso.test') and accountEnabled eq true", 1)]
    [InlineData("mail eq 'o'brien@contoso.test'", -400)]
    [InlineData("startsWith(mail,'o')", -400)]
    [InlineData("shoeSize eq '42'", -400)]
    public async Task Users_FilterParser_MatchesGraphSemantics(string filter, int expected)
    {
        _sandbox.AddUser(new SandboxUser { UserPrincipalName = "ob@contoso.test", Mail = "o'brien@contoso.test" });

        using var response = await _http.GetAsync($"{_sandbox.BaseUrl}/users?$filter={Uri.EscapeDataString(filter)}");

        if (expected < 0)
        {
            Assert.Equal(-expected, (int)response.StatusCode);
        }
        else
        {
            Assert.Equal(expected, (await Json(response))["value"]!.AsArray().Count);
        }
    }

    [Fact]
    public async Task Members_DeleteWithoutRef_IsRefusedAndDeletesNothing()
    {
        var user = _sandbox.AddUser(new SandboxUser { UserPrincipalName = "a@contoso.test" });
        var group = _sandbox.AddGroup(new SandboxGroup { DisplayName = "G" });
        _sandbox.AddMember(group.Id, user.Id);

        using var response = await _http.DeleteAsync($"{_sandbox.BaseUrl}/groups/{group.Id}/members/{user.Id}");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.True(_sandbox.IsMember(group.Id, user.Id));
        Assert.NotNull(_sandbox.User(user.Id));
    }

    [Fact]
    public async Task Hold_OnAMemberAdd_HoldsTheBatchThatCarriesIt_AppliedButUnansweredUntilReleased()
    {
        var user = _sandbox.AddUser(new SandboxUser { UserPrincipalName = "a@contoso.test" });
        var group = _sandbox.AddGroup(new SandboxGroup { DisplayName = "G" });
        var hold = _sandbox.Holds.Add("POST", $"/groups/{group.Id}/members/$ref", Sandbox.HoldPoint.AfterHandling);
        var add = new JsonObject
        {
            ["id"] = "2",
            ["method"] = "POST",
            ["url"] = $"/groups/{group.Id}/members/$ref",
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            ["body"] = new JsonObject { ["@odata.id"] = $"https://graph.microsoft.com/v1.0/directoryObjects/{user.Id}" },
        };

        var sending = PostBatch(new JsonArray(new JsonObject { ["id"] = "1", ["method"] = "GET", ["url"] = "/users" }, add));
        await hold.Arrived.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(_sandbox.IsMember(group.Id, user.Id));
        Assert.False(sending.IsCompleted);
        hold.Release();
        using var response = await sending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await Json(response))["responses"]!.AsArray().Count);
    }

    [Fact]
    public async Task Batch_MoreThanTwentyRequests_Is400()
    {
        var requests = Enumerable.Range(1, 21).Select(i => new JsonObject { ["id"] = $"{i}", ["method"] = "GET", ["url"] = "/users" });

        using var response = await PostBatch(new JsonArray([.. requests]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(21, Assert.Single(_sandbox.HttpCalls).BatchSize);
    }

    [Fact]
    public async Task Batch_DuplicateIdsOrBodyWithoutContentType_Is400()
    {
        using var duplicate = await PostBatch(new JsonArray(
            new JsonObject { ["id"] = "1", ["method"] = "GET", ["url"] = "/users" },
            new JsonObject { ["id"] = "1", ["method"] = "GET", ["url"] = "/users" }));
        using var noContentType = await PostBatch(new JsonArray(
            new JsonObject { ["id"] = "1", ["method"] = "PATCH", ["url"] = "/users/x", ["body"] = new JsonObject { ["accountEnabled"] = false } }));

        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noContentType.StatusCode);
    }

    [Fact]
    public async Task Batch_ItemsAreHandledLikePlainRequestsWithTheirOwnStatus()
    {
        var user = _sandbox.AddUser(new SandboxUser { UserPrincipalName = "a@contoso.test" });
        var group = _sandbox.AddGroup(new SandboxGroup { DisplayName = "G" });
        var reference = new JsonObject { ["@odata.id"] = $"https://graph.microsoft.com/v1.0/directoryObjects/{user.Id}" };
        var headers = new JsonObject { ["Content-Type"] = "application/json" };

        using var response = await PostBatch(new JsonArray(
            new JsonObject { ["id"] = "a", ["method"] = "POST", ["url"] = $"/groups/{group.Id}/members/$ref", ["headers"] = headers.DeepClone(), ["body"] = reference.DeepClone() },
            new JsonObject { ["id"] = "b", ["method"] = "POST", ["url"] = $"/groups/{group.Id}/members/$ref", ["headers"] = headers.DeepClone(), ["body"] = reference.DeepClone() },
            new JsonObject { ["id"] = "c", ["method"] = "GET", ["url"] = $"/users/{Guid.NewGuid()}" },
            new JsonObject { ["id"] = "d", ["method"] = "GET", ["url"] = $"/users/{user.Id}", ["dependsOn"] = new JsonArray("c") }));

        var answers = (await Json(response))["responses"]!.AsArray().ToDictionary(r => r!["id"]!.GetValue<string>(), r => r!["status"]!.GetValue<int>());
        Assert.Equal(new Dictionary<string, int> { ["a"] = 204, ["b"] = 400, ["c"] = 404, ["d"] = 424 }, answers);
        Assert.Equal(1, _sandbox.Changes.MembershipsAdded);
        Assert.Equal(4, _sandbox.Requests.Count(r => r.InBatch));
    }

    [Fact]
    public async Task Batch_ThrottledItem_Carries429AndRetryAfter()
    {
        _sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.Throttle) { Scope = SandboxFaultScope.BatchItem, RetryAfter = TimeSpan.FromSeconds(7) });

        using var response = await PostBatch(new JsonArray(
            new JsonObject { ["id"] = "1", ["method"] = "GET", ["url"] = "/users" },
            new JsonObject { ["id"] = "2", ["method"] = "GET", ["url"] = "/users" }));

        var answers = (await Json(response))["responses"]!.AsArray();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var throttled = Assert.Single(answers, a => a!["status"]!.GetValue<int>() == 429)!;
        Assert.Equal("7", throttled["headers"]!["Retry-After"]!.GetValue<string>());
    }

    [Fact]
    public async Task Faults_ResetBeforeHandling_DropsTheConnectionAndAppliesNothing()
    {
        var user = _sandbox.AddUser(new SandboxUser { UserPrincipalName = "a@contoso.test" });
        _sandbox.Faults.Next(new SandboxFault(SandboxFaultKind.ResetBeforeHandling));

        await Assert.ThrowsAsync<HttpRequestException>(() => _http.PostAsync($"{_sandbox.BaseUrl}/users/{user.Id}/revokeSignInSessions", null));

        Assert.Equal(0, _sandbox.Changes.SessionRevocations);
        Assert.Equal("reset-before", Assert.Single(_sandbox.HttpCalls).Fault);
    }

    [Fact]
    public async Task Faults_SeededRandomFaults_AreRepeatable()
    {
        async Task<string> Run(int seed)
        {
            using var sandbox = GraphSandbox.Start(new GraphSandboxOptions { Seed = seed });
            sandbox.Faults.ThrottleProbability = 0.3;
            sandbox.Faults.ServerErrorProbability = 0.2;
            var statuses = new StringBuilder();
            for (var i = 0; i < 30; i++)
            {
                using var response = await _http.GetAsync($"{sandbox.BaseUrl}/users");
                statuses.Append((int)response.StatusCode).Append(' ');
            }

            return statuses.ToString();
        }

        var first = await Run(42);
        Assert.Equal(first, await Run(42));
        Assert.Contains("429", first, StringComparison.Ordinal);
        Assert.Contains("500", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TemporaryAccessPass_ReplacesThePreviousOneAndIsReturnedOnlyOnCreation()
    {
        var user = _sandbox.AddUser(new SandboxUser { UserPrincipalName = "a@contoso.test" });
        var body = new StringContent("""{"lifetimeInMinutes":30,"isUsableOnce":true}""", Encoding.UTF8, "application/json");

        using var first = await _http.PostAsync($"{_sandbox.BaseUrl}/users/{user.Id}/authentication/temporaryAccessPassMethods", body);
        using var second = await _http.PostAsync($"{_sandbox.BaseUrl}/users/{user.Id}/authentication/temporaryAccessPassMethods", body);
        using var list = await _http.GetAsync($"{_sandbox.BaseUrl}/users/{user.Id}/authentication/methods");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var created = await Json(second);
        Assert.Equal(_sandbox.TapsIssued(user.Id)[1].Pass, created["temporaryAccessPass"]!.GetValue<string>());
        var methods = (await Json(list))["value"]!.AsArray();
        var tap = Assert.Single(methods, m => m!["@odata.type"]!.GetValue<string>() == "#microsoft.graph.temporaryAccessPassAuthenticationMethod")!;
        Assert.Null(tap["temporaryAccessPass"]);
    }

    private async Task<HttpResponseMessage> PostBatch(JsonArray requests) =>
        await _http.PostAsync($"{_sandbox.BaseUrl}/$batch",
            new StringContent(new JsonObject { ["requests"] = requests }.ToJsonString(), Encoding.UTF8, "application/json"));

    private static async Task<JsonNode> Json(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new JsonException("empty body");
}
