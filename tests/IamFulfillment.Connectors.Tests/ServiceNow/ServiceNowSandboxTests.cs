using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IamFulfillment.Sandbox;
using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Sandbox.ServiceNow;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

/// <summary>The sandbox answers like the Table API: these pin the behaviours the connector and the demo rely on.</summary>
public class ServiceNowSandboxTests : IDisposable
{
    private readonly ServiceNowSandbox _sandbox = new();
    private readonly HttpClient _http = new();
    private readonly string _alice;
    private readonly string _bob;

    public ServiceNowSandboxTests()
    {
        _http.BaseAddress = new Uri(_sandbox.Url);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("iamf.integration:sandbox-password")));
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _alice = _sandbox.AddUser("alice", "Alice Requester", "alice@contoso.com", "E100");
        _bob = _sandbox.AddUser("bob", "Bob Target", "bob@contoso.com", "E200", managerSysId: _alice);
    }

    [Fact]
    public async Task Calls_SentTogetherShareAWave_AndACallSentAfterAnAnswerIsTheNextWave()
    {
        _sandbox.Latency = TimeSpan.FromMilliseconds(200); // far more than the spread of three calls sent together
        var user = $"/api/now/table/sys_user/{_bob}";

        foreach (var together in await Task.WhenAll(_http.GetAsync(user), _http.GetAsync(user), _http.GetAsync(user)))
        {
            together.Dispose();
        }

        using var after = await _http.GetAsync(user);

        Assert.Equal([1, 1, 1, 2], _sandbox.Calls.Select(c => c.Wave).Order());
        _sandbox.ResetCalls();
        using var afresh = await _http.GetAsync(user);
        Assert.Equal(1, Assert.Single(_sandbox.Calls).Wave);
    }

    [Fact]
    public async Task Get_ReferencesComeAsLinkObjects_UnlessExcluded()
    {
        var linked = await ResultAsync($"/api/now/table/sys_user/{_bob}?sysparm_fields=user_name,manager,manager.email");
        Assert.Equal("bob", linked.GetProperty("user_name").GetString());
        Assert.Equal(_alice, linked.GetProperty("manager").GetProperty("value").GetString());
        Assert.Equal($"{_sandbox.Url}/api/now/table/sys_user/{_alice}", linked.GetProperty("manager").GetProperty("link").GetString());
        Assert.Equal("alice@contoso.com", linked.GetProperty("manager.email").GetString());

        var plain = await ResultAsync($"/api/now/table/sys_user/{_bob}?sysparm_fields=manager&sysparm_exclude_reference_link=true");
        Assert.Equal(_alice, plain.GetProperty("manager").GetString());
    }

    [Fact]
    public async Task List_EncodedQueryOperators_Filter()
    {
        _sandbox.AddUser("carol", "Carol", "carol@fabrikam.com");
        _sandbox.AddUser("dave", "Dave");

        async Task<string[]> Names(string query) =>
            [.. (await ResultAsync("/api/now/table/sys_user?sysparm_fields=user_name&sysparm_query=" + Uri.EscapeDataString(query)))
                .EnumerateArray().Select(r => r.GetProperty("user_name").GetString()!)];

        Assert.Equal(["alice", "bob"], await Names("user_nameINalice,bob^ORDERBYuser_name"));
        Assert.Equal(["bob", "alice"], await Names("user_nameINalice,bob^ORDERBYDESCuser_name"));
        Assert.Equal(["carol"], await Names("emailLIKEfabrikam"));
        Assert.Equal(["dave"], await Names("user_name!=iamf.integration^emailISEMPTY"));
        Assert.Equal(["alice", "bob", "carol"], await Names("emailISNOTEMPTY^ORDERBYuser_name"));
        Assert.Equal(["bob", "carol"], await Names("user_name=bob^ORuser_nameSTARTSWITHcar^ORDERBYuser_name"));
        Assert.Equal(["bob"], await Names("manager.email=alice@contoso.com"));
        Assert.Equal(["alice", "dave"], await Names("user_name=alice^NQuser_name=dave^ORDERBYuser_name"));
        Assert.Empty(_sandbox.Tables.InvalidQueryTerms);
    }

    [Fact]
    public void Query_OnAnIndexedField_FollowsUpdatesAndKeepsInsertionOrder()
    {
        var first = _sandbox.Tables.Insert("sc_item_option_mtom", new Dictionary<string, string?> { ["request_item"] = "a", ["sc_item_option"] = "x" }, "admin");
        var second = _sandbox.Tables.Insert("sc_item_option_mtom", new Dictionary<string, string?> { ["request_item"] = "b", ["sc_item_option"] = "y" }, "admin");
        var third = _sandbox.Tables.Insert("sc_item_option_mtom", new Dictionary<string, string?> { ["request_item"] = "a", ["sc_item_option"] = "z" }, "admin");
        _sandbox.Tables.Update("sc_item_option_mtom", first, new Dictionary<string, string?> { ["request_item"] = "b" }, "admin");

        Assert.Equal([third], _sandbox.Tables.Query("sc_item_option_mtom", "request_item=a").Select(r => r["sys_id"]));
        Assert.Equal([first, second], _sandbox.Tables.Query("sc_item_option_mtom", "request_item=B").Select(r => r["sys_id"]));
        Assert.Equal([first, second, third], _sandbox.Tables.Query("sc_item_option_mtom", "request_itemINa,b").Select(r => r["sys_id"]));
        Assert.Equal([second], _sandbox.Tables.Query("sc_item_option_mtom", "request_itemINa,b^sc_item_option=y").Select(r => r["sys_id"]));
        Assert.Equal([first, third], _sandbox.Tables.Query("sc_item_option_mtom", "request_item=a^ORsc_item_option=x").Select(r => r["sys_id"]));
    }

    [Fact]
    public async Task List_NoMatch_IsAnEmptyListOnV2_And404OnV1()
    {
        using var v2 = await _http.GetAsync("/api/now/table/sys_user?sysparm_query=user_name=nobody");
        Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
        Assert.Equal("""{"result":[]}""", await v2.Content.ReadAsStringAsync());
        Assert.Equal("0", v2.Headers.GetValues("X-Total-Count").Single());

        using var v1 = await _http.GetAsync("/api/now/v1/table/sys_user?sysparm_query=user_name=nobody");
        Assert.Equal(HttpStatusCode.NotFound, v1.StatusCode);
    }

    [Fact]
    public async Task List_Pages_WithTotalCount_AndTheConnectorFollowsThem()
    {
        for (var i = 0; i < 5; i++)
        {
            _sandbox.AddUser($"user{i}", $"User {i}");
        }

        using var page = await _http.GetAsync("/api/now/table/sys_user?sysparm_query=user_nameSTARTSWITHuser&sysparm_limit=2&sysparm_offset=2&sysparm_fields=user_name");
        Assert.Equal("5", page.Headers.GetValues("X-Total-Count").Single());
        Assert.Contains("rel=\"next\"", page.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(await page.Content.ReadAsStringAsync()))
        {
            Assert.Equal(["user2", "user3"], json.RootElement.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("user_name").GetString()));
        }

        var client = new ServiceNowClient(
            new ServiceCollection().AddHttpClient().BuildServiceProvider().GetRequiredService<IHttpClientFactory>(),
            Options.Create(new ServiceNowOptions { InstanceUrl = _sandbox.Url, Username = "iamf.integration", Password = "sandbox-password" }),
            TimeProvider.System,
            NullLogger<ServiceNowClient>.Instance) { PageSize = 2 };
        _sandbox.ResetCalls();

        var rows = await client.ListAsync("sys_user", "user_nameSTARTSWITHuser^ORDERBYuser_name", ["user_name"], default);

        Assert.Equal(["user0", "user1", "user2", "user3", "user4"], rows.Select(r => r["user_name"]));
        Assert.Equal(3, _sandbox.CallCount("GET", "/sys_user"));
    }

    [Fact]
    public async Task Patch_JournalFieldsAppendToTheJournal_OtherChangesAreAudited()
    {
        var ritm = _sandbox.AddRitm(new RitmSeed { CatalogItem = _sandbox.AddCatalogItem("Access Request"), RequestedFor = _bob, OpenedBy = _alice });
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/now/table/sc_req_item/{ritm.SysId}?sysparm_fields=comments,state,sys_mod_count")
        {
            Content = new StringContent("""{"comments":"Hello","work_notes":"internal","state":"2","sys_id":"ignored","not_a_field":"x"}""", Encoding.UTF8, "application/json"),
        };

        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var result = json.RootElement.GetProperty("result");
        Assert.Equal("", result.GetProperty("comments").GetString()); // journal fields read as ""
        Assert.Equal("2", result.GetProperty("state").GetString());
        Assert.Equal("1", result.GetProperty("sys_mod_count").GetString());
        Assert.Equal(["comments:Hello:iamf.integration", "work_notes:internal:iamf.integration"], _sandbox.JournalOf(ritm.SysId).Select(e => $"{e.Element}:{e.Value}:{e.CreatedBy}"));
        var audit = Assert.Single(_sandbox.AuditOf(ritm.SysId));
        Assert.Equal(("state", "1", "2", "iamf.integration"), (audit.Field, audit.OldValue, audit.NewValue, audit.User));
        Assert.Equal(ritm.SysId, _sandbox.Record("sc_req_item", ritm.SysId)!["sys_id"]);
    }

    [Fact]
    public async Task Post_CreatesARecord_AndNoResponseBodyIsHonoured()
    {
        using var created = await _http.PostAsync("/api/now/table/sys_user_group", new StringContent("""{"name":"IAM"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var json = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var id = json.RootElement.GetProperty("result").GetProperty("sys_id").GetString()!;
        Assert.Equal("IAM", _sandbox.Record("sys_user_group", id)!["name"]);

        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/now/table/sys_user_group/{id}") { Content = new StringContent("""{"name":"IAM 2"}""", Encoding.UTF8, "application/json") };
        patch.Headers.Add("X-no-response-body", "true");
        using var patched = await _http.SendAsync(patch);
        Assert.Equal(HttpStatusCode.NoContent, patched.StatusCode);
        Assert.Empty(await patched.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Requests_WithoutAcceptContentTypeOrCredentials_AreRefusedLikeTheRealApi()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(_sandbox.Url) };
        using var noAuth = await anonymous.GetAsync("/api/now/table/sys_user");
        Assert.Equal(HttpStatusCode.Unauthorized, noAuth.StatusCode);

        using var noAccept = new HttpRequestMessage(HttpMethod.Get, "/api/now/table/sys_user");
        noAccept.Headers.Authorization = _http.DefaultRequestHeaders.Authorization;
        using var noAcceptResponse = await anonymous.SendAsync(noAccept);
        Assert.Equal(HttpStatusCode.BadRequest, noAcceptResponse.StatusCode);

        using var noContentType = new HttpRequestMessage(HttpMethod.Patch, $"/api/now/table/sys_user/{_bob}") { Content = new ByteArrayContent("{}"u8.ToArray()) };
        using var noContentTypeResponse = await _http.SendAsync(noContentType);
        Assert.Equal(HttpStatusCode.BadRequest, noContentTypeResponse.StatusCode);

        using var missing = await _http.GetAsync($"/api/now/table/sys_user/{Guid.NewGuid():N}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.Equal("No Record found", error.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("failure", error.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task RateLimit_SendsRetryAfterAndUnixReset()
    {
        _sandbox.Time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        _sandbox.Faults.Enqueue(SandboxFaultKind.RateLimited, retryAfterSeconds: 7);

        using var response = await _http.GetAsync("/api/now/table/sys_user");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Equal("1772442007", response.Headers.GetValues("X-RateLimit-Reset").Single());
        Assert.Contains("Rate limit exceeded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RandomFaults_WithTheSameSeed_FailTheSameCalls()
    {
        async Task<int[]> Statuses(int seed)
        {
            using var sandbox = new ServiceNowSandbox(new ServiceNowSandboxOptions { FaultSeed = seed });
            sandbox.Faults.RateLimitProbability = 0.2;
            sandbox.Faults.UnavailableProbability = 0.2;
            using var http = new HttpClient { BaseAddress = new Uri(sandbox.Url) };
            http.DefaultRequestHeaders.Authorization = _http.DefaultRequestHeaders.Authorization;
            http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            var statuses = new int[20];
            for (var i = 0; i < statuses.Length; i++)
            {
                using var response = await http.GetAsync("/api/now/table/sys_user?sysparm_limit=1");
                statuses[i] = (int)response.StatusCode;
            }

            Assert.Equal(statuses, sandbox.Calls.Select(c => c.Status));
            return statuses;
        }

        var first = await Statuses(42);
        Assert.Equal(first, await Statuses(42));
        Assert.Contains(429, first);
        Assert.Contains(503, first);
        Assert.Contains(200, first);
    }

    [Fact]
    public async Task OAuthTokenEndpoint_IssuesBearerTokensForClientCredentials()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(_sandbox.Url) };
        using var refused = await anonymous.PostAsync("/oauth_token.do", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = "iamf-sandbox-client", ["client_secret"] = "wrong",
        }));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var issued = await anonymous.PostAsync("/oauth_token.do", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = "iamf-sandbox-client", ["client_secret"] = "sandbox-client-secret",
        }));
        using var token = JsonDocument.Parse(await issued.Content.ReadAsStringAsync());
        Assert.Equal("Bearer", token.RootElement.GetProperty("token_type").GetString());
        Assert.Equal(1799, token.RootElement.GetProperty("expires_in").GetInt32());

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/now/table/sys_user?sysparm_limit=1");
        get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.RootElement.GetProperty("access_token").GetString());
        get.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var ok = await anonymous.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    public void Dispose()
    {
        _http.Dispose();
        _sandbox.Dispose();
    }

    private async Task<JsonElement> ResultAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("result").Clone();
    }
}
