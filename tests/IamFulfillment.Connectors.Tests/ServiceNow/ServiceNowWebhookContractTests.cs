using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IamFulfillment.Sandbox.ServiceNow;
using IamFulfillment.Sandbox.Storage;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

/// <summary>
/// The shipped business rule and the sandbox's <see cref="ServiceNowSandbox.BuildWebhook"/> must send the same
/// bytes: the rule is run under node with stand-ins for the ServiceNow globals, and its request is compared.
/// </summary>
public class ServiceNowWebhookContractTests(BusinessRuleHarness harness) : IClassFixture<BusinessRuleHarness>
{
    private const string Secret = "aWFtZi1zYW5kYm94LXdlYmhvb2stc2VjcmV0LTAwMDE="; // the sandbox default
    private const string Endpoint = "https://iamf.example.com/";
    private const string ItemRule = "Business Rule: IamF signal requested item";
    private const string ApprovalRule = "Business Rule: IamF signal approval";
    private const string VariableRule = "Business Rule: IamF signal variable";
    private const string RetryAction = "Script Action: IamF webhook retry";
    private static readonly string RulePath = BusinessRuleHarness.RulePath;

    [Fact]
    public void BuildWebhook_SignsTimestampDeliveryAndBodyWithTheBase64Key()
    {
        using var sandbox = new ServiceNowSandbox();
        var user = sandbox.AddUser("alice", "Alice");
        var ritm = sandbox.AddRitm(new RitmSeed { CatalogItem = sandbox.AddCatalogItem("Access Request"), RequestedFor = user, OpenedBy = user });
        var record = sandbox.Record("sc_req_item", ritm.SysId)!;
        var sentAt = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

        var webhook = sandbox.BuildWebhook(ritm.SysId, "6f1c2b0e-4f5d-4b8e-9a51-0c7d2e3f4a5b", sentAt);

        var body = $$"""{"sys_id":"{{ritm.SysId}}","table":"sc_req_item","sys_mod_count":"{{record["sys_mod_count"]}}","sys_updated_on":"{{record["sys_updated_on"]}}"}""";
        Assert.Equal(body, webhook.BodyText);
        Assert.Equal("/api/webhooks/servicenow", webhook.Path);
        Assert.Equal("1772442000", webhook.Headers["X-IamF-Timestamp"]);
        Assert.Equal("6f1c2b0e-4f5d-4b8e-9a51-0c7d2e3f4a5b", webhook.Headers["X-IamF-Delivery"]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(Secret), Encoding.UTF8.GetBytes($"1772442000.6f1c2b0e-4f5d-4b8e-9a51-0c7d2e3f4a5b.{body}")));
        Assert.Equal(expected, webhook.Headers["X-IamF-Signature"]);
        Assert.Equal(webhook.Body, sandbox.BuildWebhook(ritm.SysId, "6f1c2b0e-4f5d-4b8e-9a51-0c7d2e3f4a5b", sentAt).Body);
    }

    [Fact]
    public void BusinessRule_DeclaresTheSameHeadersPathAndMacInput()
    {
        var script = File.ReadAllText(RulePath);

        foreach (var header in new[] { ServiceNowWebhookContract.DeliveryHeader, ServiceNowWebhookContract.TimestampHeader, ServiceNowWebhookContract.SignatureHeader })
        {
            Assert.Contains($"setRequestHeader('{header}'", script, StringComparison.Ordinal);
        }

        Assert.Contains($"PATH: '{ServiceNowWebhookContract.Path}'", script, StringComparison.Ordinal);
        Assert.Contains("generateMac(secret, 'HmacSHA256', timestamp + '.' + delivery + '.' + body)", script, StringComparison.Ordinal);
        Assert.Matches(@"sys_id:[^\n]*\n\s*table: 'sc_req_item',\s*\n\s*sys_mod_count:[^\n]*\n\s*sys_updated_on:", script);
        Assert.DoesNotMatch(@"\b(let|const)\s|=>|`", script); // ES5 only: global-scope scripts run on Rhino
    }

    [Fact]
    public async Task BusinessRule_RunOnAnItem_SendsExactlyWhatBuildWebhookBuilds()
    {
        using var sandbox = new ServiceNowSandbox();
        var user = sandbox.AddUser("alice", "Alice");
        var ritm = sandbox.AddRitm(new RitmSeed { CatalogItem = sandbox.AddCatalogItem("Access Request"), RequestedFor = user, OpenedBy = user });
        sandbox.UpdateRecord("sc_req_item", ritm.SysId, new Dictionary<string, string?> { ["state"] = "2" }, "alice");
        var record = sandbox.Record("sc_req_item", ritm.SysId)!;
        var sentAt = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

        var result = await RunAsync(Scenario(current: Item(record), run: ItemRule, nowMs: sentAt.ToUnixTimeMilliseconds()));

        var request = Assert.Single(result.GetProperty("requests").EnumerateArray());
        Assert.Equal("https://iamf.example.com/api/webhooks/servicenow", request.GetProperty("endpoint").GetString());
        Assert.Equal("post", request.GetProperty("method").GetString());
        var headers = request.GetProperty("headers");
        Assert.Equal("application/json", headers.GetProperty("Content-Type").GetString());
        var delivery = headers.GetProperty("X-IamF-Delivery").GetString()!;
        Assert.Equal("01234567-89ab-cdef-0123-456789abcdef", delivery);
        Assert.True(Guid.TryParse(delivery, out _));

        var expected = sandbox.BuildWebhook(ritm.SysId, delivery, sentAt);
        Assert.Equal(expected.BodyText, request.GetProperty("body").GetString());
        Assert.Contains("\"sys_mod_count\":\"1\"", expected.BodyText, StringComparison.Ordinal);
        foreach (var name in new[] { ServiceNowWebhookContract.DeliveryHeader, ServiceNowWebhookContract.TimestampHeader, ServiceNowWebhookContract.SignatureHeader })
        {
            Assert.Equal(expected.Headers[name], headers.GetProperty(name).GetString());
        }

        Assert.Empty(result.GetProperty("events").EnumerateArray());
    }

    [Theory]
    [InlineData(503, true)]
    [InlineData(500, true)]
    [InlineData(429, true)]
    [InlineData(408, true)]
    [InlineData("throw", true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(404, false)]
    [InlineData(202, false)]
    public async Task BusinessRule_Failure_IsRetriedOnlyWhenRetryable(object status, bool retried)
    {
        var result = await RunAsync(Scenario(current: Item(), run: ItemRule, statuses: [status]));

        Assert.Equal(retried ? 1 : 0, result.GetProperty("events").GetArrayLength());
    }

    [Fact]
    public async Task BusinessRule_Retries_ResendTheSameDeliveryWithGrowingWaits_ThenGiveUp()
    {
        var first = await RunAsync(Scenario(current: Item(), run: ItemRule, statuses: [503]));
        var sent = first.GetProperty("requests")[0];
        var waits = new List<int>();
        var scheduled = first.GetProperty("events")[0];

        for (var attempt = 2; attempt <= 5; attempt++)
        {
            Assert.Equal("x_iamf.webhook.retry", scheduled.GetProperty("name").GetString());
            waits.Add(scheduled.GetProperty("delaySeconds").GetInt32());
            var state = JsonDocument.Parse(scheduled.GetProperty("parm1").GetString()!).RootElement;
            Assert.Equal(attempt, state.GetProperty("attempt").GetInt32());

            var retry = await RunAsync(Scenario(
                current: Item(),
                run: RetryAction,
                statuses: ["throw"],
                @event: new { parm1 = scheduled.GetProperty("parm1").GetString(), parm2 = scheduled.GetProperty("parm2").GetString() }));

            var resent = retry.GetProperty("requests")[0];
            Assert.Equal(sent.GetProperty("body").GetString(), resent.GetProperty("body").GetString());
            Assert.Equal(sent.GetProperty("headers").GetRawText(), resent.GetProperty("headers").GetRawText()); // same delivery, timestamp, signature
            if (attempt == 5)
            {
                Assert.Empty(retry.GetProperty("events").EnumerateArray());
                Assert.Contains(retry.GetProperty("logs").EnumerateArray(), l => l.GetString()!.StartsWith("warn: IamF webhook for RITM0010001 not delivered", StringComparison.Ordinal));
                Assert.DoesNotContain(retry.GetProperty("logs").EnumerateArray(), l => l.GetString()!.Contains(Secret, StringComparison.Ordinal));
            }
            else
            {
                scheduled = Assert.Single(retry.GetProperty("events").EnumerateArray());
            }
        }

        Assert.Equal([2, 8, 30, 60], waits);
        Assert.True(waits.Sum() < 300, "all retries fit in the intake's default signature age");
    }

    [Theory]
    [InlineData("iamf.integration", "update", "state", "2", false)] // the service's own write-back
    [InlineData("alice", "insert", "", "1", true)]
    [InlineData("alice", "update", "state", "2", true)]
    [InlineData("alice", "update", "approval", "1", true)]
    [InlineData("alice", "update", "requested_for", "1", true)]
    [InlineData("alice", "update", "short_description", "1", false)] // nothing the service reads changed
    [InlineData("alice", "update", "approval", "3", false)] // closed and the state did not change
    [InlineData("alice", "update", "state", "3", true)] // a person closed or reopened it
    public async Task BusinessRule_Condition_FiresOnlyForChangesThatMatter(string user, string operation, string changed, string state, bool fires)
    {
        var result = await RunAsync(Scenario(
            current: Item(state: state),
            conditionOf: ItemRule,
            user: user,
            operation: operation,
            changed: changed.Length == 0 ? [] : [changed]));

        Assert.Equal(fires, result.GetProperty("condition").GetBoolean());
    }

    [Theory]
    [InlineData(ApprovalRule, "iamf.integration", false)]
    [InlineData(ApprovalRule, "carol", true)]
    [InlineData(VariableRule, "iamf.integration", false)]
    [InlineData(VariableRule, "alice", true)]
    public async Task SecondaryRules_Condition_IgnoreTheIntegrationUser(string rule, string user, bool fires)
    {
        var result = await RunAsync(Scenario(current: Item(), conditionOf: rule, user: user, changed: ["state", "value"]));

        Assert.Equal(fires, result.GetProperty("condition").GetBoolean());
    }

    [Fact]
    public async Task ApprovalRule_OnTheParentRequest_SignalsEachOpenItem()
    {
        var records = new Dictionary<string, object>
        {
            ["sc_req_item"] = new[]
            {
                ItemFields("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "2", request: "cccccccccccccccccccccccccccccccc"),
                ItemFields("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "3", request: "cccccccccccccccccccccccccccccccc"),
            },
        };
        var approval = new { table = "sysapproval_approver", fields = new Dictionary<string, string> { ["sys_id"] = "dddddddddddddddddddddddddddddddd", ["sysapproval"] = "cccccccccccccccccccccccccccccccc" } };

        var result = await RunAsync(Scenario(current: approval, run: ApprovalRule, records: records));

        var request = Assert.Single(result.GetProperty("requests").EnumerateArray());
        Assert.Contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", request.GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VariableRule_SignalsTheItemThatOwnsTheVariable()
    {
        var records = new Dictionary<string, object>
        {
            ["sc_req_item"] = new[] { ItemFields("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1") },
            ["sc_item_option_mtom"] = new[] { new Dictionary<string, string> { ["sys_id"] = "e1", ["sc_item_option"] = "ffffffffffffffffffffffffffffffff", ["request_item"] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" } },
        };
        var option = new { table = "sc_item_option", fields = new Dictionary<string, string> { ["sys_id"] = "ffffffffffffffffffffffffffffffff", ["value"] = "grp-x" } };

        var result = await RunAsync(Scenario(current: option, run: VariableRule, records: records));

        Assert.Contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Assert.Single(result.GetProperty("requests").EnumerateArray()).GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BusinessRule_WithoutEndpointOrSecret_SendsNothingAndSaysSo()
    {
        var result = await RunAsync(Scenario(current: Item(), run: ItemRule, properties: new Dictionary<string, string> { ["x_iamf.endpoint"] = Endpoint }));

        Assert.Empty(result.GetProperty("requests").EnumerateArray());
        Assert.Empty(result.GetProperty("events").EnumerateArray());
        Assert.Contains(result.GetProperty("logs").EnumerateArray(), l => l.GetString()!.Contains("x_iamf.webhook_secret", StringComparison.Ordinal));
    }

    private static object Item(IReadOnlyDictionary<string, string>? record = null, string state = "2") => new
    {
        table = "sc_req_item",
        fields = record is null
            ? ItemFields("0123456789abcdef0123456789abcdef", state)
            : new Dictionary<string, string>
            {
                ["sys_id"] = record["sys_id"], ["number"] = record["number"], ["state"] = record["state"],
                ["sys_mod_count"] = record["sys_mod_count"], ["sys_updated_on"] = record["sys_updated_on"],
            },
    };

    private static Dictionary<string, string> ItemFields(string sysId, string state, string request = "") => new()
    {
        ["sys_id"] = sysId, ["number"] = "RITM0010001", ["state"] = state, ["request"] = request,
        ["sys_mod_count"] = "3", ["sys_updated_on"] = "2026-03-02 09:00:00",
    };

    private static object Scenario(
        object current,
        string? run = null,
        string? conditionOf = null,
        object[]? statuses = null,
        string user = "alice",
        string operation = "update",
        string[]? changed = null,
        long nowMs = 1772442000000,
        object? @event = null,
        object? records = null,
        Dictionary<string, string>? properties = null) => new
        {
            properties = properties ?? new Dictionary<string, string>
            {
                ["x_iamf.endpoint"] = Endpoint,
                ["x_iamf.webhook_secret"] = Secret,
                ["x_iamf.integration_user"] = "iamf.integration",
            },
            user,
            operation,
            changed = changed ?? [],
            guid = "0123456789abcdef0123456789abcdef",
            nowMs,
            statuses = statuses ?? [202],
            current,
            @event,
            records = records ?? new Dictionary<string, object>(),
            run,
            conditionOf,
        };

    private Task<JsonElement> RunAsync(object scenario) => harness.RunAsync(scenario);
}

/// <summary>One node process for the class, running scenarios against the shipped rule one line at a time.</summary>
public sealed class BusinessRuleHarness : IDisposable
{
    public static readonly string RulePath = Path.Combine(RepositoryRoot.Find(), "infra", "servicenow", "iamf_business_rule.js");

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Process _node;

    public BusinessRuleHarness()
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Fixtures", "servicenow", "business_rule_harness.js"));
        start.ArgumentList.Add(RulePath);
        start.ArgumentList.Add("--serve");
        _node = Process.Start(start) ?? throw new InvalidOperationException("node is required to run the business-rule contract tests");
    }

    public async Task<JsonElement> RunAsync(object scenario)
    {
        await _gate.WaitAsync();
        try
        {
            await _node.StandardInput.WriteLineAsync(JsonSerializer.Serialize(scenario));
            await _node.StandardInput.FlushAsync();
            var line = await _node.StandardOutput.ReadLineAsync()
                ?? throw new InvalidOperationException("The harness stopped: " + await _node.StandardError.ReadToEndAsync());
            var result = JsonDocument.Parse(line).RootElement.Clone();
            Assert.False(result.TryGetProperty("error", out var error), error.ToString());
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _node.StandardInput.Close();
        if (!_node.WaitForExit(2000))
        {
            _node.Kill();
        }

        _node.Dispose();
        _gate.Dispose();
    }
}
