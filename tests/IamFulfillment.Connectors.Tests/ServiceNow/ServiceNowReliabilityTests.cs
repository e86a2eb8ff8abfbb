using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox;
using IamFulfillment.Core.Decisions;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

public class ServiceNowReliabilityTests
{
    private const string Marker = "[iamf:77:fulfil]";

    [Fact]
    public async Task Read_RateLimitedWithRetryAfter_WaitsAtLeastThatLongThenSucceeds()
    {
        var time = new InstantTimeProvider();
        using var host = ServiceNowTestHost.Start(connectorTime: time);
        var ritm = host.SeedGrant(host.SeedOrg());
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.RateLimited, "GET", "/sc_req_item/", retryAfterSeconds: 3);

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(ritm.Number, ticket.Number);
        Assert.Equal(2, host.Sandbox.CallCount("GET", "/sc_req_item/"));
        Assert.Equal(429, host.Sandbox.Calls.First(c => c.Path.Contains("/sc_req_item/", StringComparison.Ordinal)).Status);
        Assert.Contains(time.Waits, w => w >= TimeSpan.FromSeconds(3));
        Assert.DoesNotContain(time.Waits, w => w > TimeSpan.Zero && w < TimeSpan.FromSeconds(3) && w > TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Read_RetryAfterLongerThanTheRetryLayerWaits_IsHandedBackToTheCaller()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.RateLimited, "GET", "/sc_req_item/", retryAfterSeconds: 120);

        var ex = await Assert.ThrowsAsync<TransientConnectorException>(() => host.TicketSystem.ReadAsync(ritm.SysId, default));

        Assert.Equal(429, ex.Status);
        Assert.Equal(TimeSpan.FromSeconds(120), ex.RetryAfter);
        Assert.Equal(1, host.Sandbox.CallCount("GET", "/sc_req_item/"));
    }

    [Fact]
    public async Task Read_ServiceUnavailableOnGet_IsRetried()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.Unavailable, "GET", "/sc_req_item/", times: 2);

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(ritm.Number, ticket.Number);
        Assert.Equal(3, host.Sandbox.CallCount("GET", "/sc_req_item/"));
    }

    [Fact]
    public async Task Read_ConnectionResetOnGet_IsRetried()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: ServiceNowTestHost.T0.AddMinutes(1));
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.ConnectionReset, "GET", "/sysapproval_approver");

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Single(ticket.Approvals);
        Assert.Contains(host.Sandbox.Calls, c => c.Status == 0 && c.Fault == SandboxFaultKind.ConnectionReset);
    }

    [Fact]
    public async Task Read_PersistentServerError_GivesUpAfterMaxAttemptsAsTransient()
    {
        using var host = ServiceNowTestHost.Start(s => s["ServiceNow:Retry:MaxAttempts"] = "3");
        var ritm = host.SeedGrant(host.SeedOrg());
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.ServerError, "GET", "/sc_req_item/", times: 10);

        var ex = await Assert.ThrowsAsync<TransientConnectorException>(() => host.TicketSystem.ReadAsync(ritm.SysId, default));

        Assert.Equal(500, ex.Status);
        Assert.Equal("ServiceNow", ex.System);
        Assert.Equal(3, host.Sandbox.CallCount("GET", "/sc_req_item/"));
    }

    [Fact]
    public async Task Read_WrongPassword_IsAConnectorErrorThatIsNotTransient()
    {
        using var host = ServiceNowTestHost.Start(s => s["ServiceNow:Password"] = "wrong");
        var ritm = host.SeedGrant(host.SeedOrg());

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => host.TicketSystem.ReadAsync(ritm.SysId, default));

        Assert.IsNotType<TransientConnectorException>(ex);
        Assert.Equal(401, ex.Status);
        Assert.NotNull(ex.RequestId); // X-Transaction-ID
        Assert.DoesNotContain("User Not Authenticated", ex.Message, StringComparison.Ordinal); // never the body
        Assert.Equal(1, host.Sandbox.CallCount("GET", "/sc_req_item/"));
    }

    [Fact]
    public async Task WriteBack_PatchAnsweredServiceUnavailable_IsNotRetried()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.Unavailable, "PATCH");

        var ex = await Assert.ThrowsAsync<TransientConnectorException>(() =>
            host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "Done.", Marker = Marker }, default));

        Assert.Equal(503, ex.Status);
        Assert.Equal(1, host.Sandbox.CallCount("PATCH"));
    }

    [Fact]
    public async Task WriteBack_ConnectionResetOnPatch_IsNotRetried_AndTheMarkerTellsWhatHappened()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.ConnectionReset, "PATCH");

        var ex = await Assert.ThrowsAsync<TransientConnectorException>(() =>
            host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "Done.", Marker = Marker }, default));

        Assert.Null(ex.Status);
        Assert.Equal(1, host.Sandbox.CallCount("PATCH"));
        Assert.False(await host.TicketSystem.ShowsMarkerAsync(ticket, Marker, default));
    }

    [Fact]
    public async Task WriteBack_RateLimitedPatch_IsRetriedOnce_AndWritesOnce()
    {
        var time = new InstantTimeProvider();
        using var host = ServiceNowTestHost.Start(connectorTime: time);
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.Faults.Enqueue(SandboxFaultKind.RateLimited, "PATCH", retryAfterSeconds: 2);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "Done.", Marker = Marker }, default);

        Assert.Equal(2, host.Sandbox.CallCount("PATCH"));
        Assert.Single(host.Sandbox.JournalOf(ritm.SysId));
        Assert.Contains(time.Waits, w => w >= TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task OAuth_TokenIsFetchedOnceAndReused()
    {
        using var host = StartOAuth();
        var ritm = host.SeedGrant(host.SeedOrg());

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        await host.TicketSystem.ReadAsync(ritm.SysId, default);
        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, CustomerComment = "Please add an end date.", Marker = Marker }, default);

        Assert.Equal(1, host.Sandbox.CallCount("POST", "/oauth_token.do"));
        Assert.Equal(host.Sandbox.Options.IntegrationUserName, Assert.Single(host.Sandbox.JournalOf(ritm.SysId)).CreatedBy);
        Assert.True(await host.TicketSystem.ShowsMarkerAsync(ticket, Marker, default));
    }

    [Fact]
    public async Task OAuth_TokenNearItsExpiry_IsRenewed()
    {
        var clock = new FakeTimeProvider(ServiceNowTestHost.T0);
        using var host = StartOAuth(clock);
        var ritm = host.SeedGrant(host.SeedOrg());

        await host.TicketSystem.ReadAsync(ritm.SysId, default);
        clock.Advance(TimeSpan.FromSeconds(1700)); // token lives 1799 s; renewed a minute before
        await host.TicketSystem.ReadAsync(ritm.SysId, default);
        Assert.Equal(1, host.Sandbox.CallCount("POST", "/oauth_token.do"));

        clock.Advance(TimeSpan.FromSeconds(60));
        await host.TicketSystem.ReadAsync(ritm.SysId, default);
        Assert.Equal(2, host.Sandbox.CallCount("POST", "/oauth_token.do"));
    }

    [Fact]
    public async Task OAuth_RevokedToken_IsReplacedOnce()
    {
        using var host = StartOAuth();
        var ritm = host.SeedGrant(host.SeedOrg());
        await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.RevokeTokens();

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(ritm.Number, ticket.Number);
        Assert.Equal(2, host.Sandbox.CallCount("POST", "/oauth_token.do"));
    }

    [Fact]
    public async Task OAuth_WrongClientSecret_IsAConnectorErrorThatIsNotTransient()
    {
        using var host = StartOAuth(configure: s => s["ServiceNow:ClientSecret"] = "wrong");
        var ritm = host.SeedGrant(host.SeedOrg());

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => host.TicketSystem.ReadAsync(ritm.SysId, default));

        Assert.IsNotType<TransientConnectorException>(ex);
        Assert.Equal(401, ex.Status);
        Assert.Equal(0, host.Sandbox.CallCount("GET"));
    }

    [Fact]
    public async Task Logs_NeverHoldPasswordsSecretsOrTokens()
    {
        using var oauth = StartOAuth();
        var ritm = oauth.SeedGrant(oauth.SeedOrg());
        oauth.Sandbox.Faults.Enqueue(SandboxFaultKind.Unavailable, "GET", "/sc_req_item/");
        var ticket = await oauth.TicketSystem.ReadAsync(ritm.SysId, default);
        oauth.Sandbox.RevokeTokens();
        await oauth.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "Done.", Marker = Marker }, default);

        using var basic = ServiceNowTestHost.Start(s => s["ServiceNow:Password"] = "wrong-but-secret-password");
        var ritm2 = basic.SeedGrant(basic.SeedOrg());
        await Assert.ThrowsAsync<ConnectorException>(() => basic.TicketSystem.ReadAsync(ritm2.SysId, default));

        var lines = oauth.Logs.GetSnapshot().Concat(basic.Logs.GetSnapshot())
            .Select(r => r.Message + " " + string.Join(" ", r.StructuredState?.Select(kv => kv.Value) ?? []) + " " + r.Exception)
            .ToList();
        Assert.NotEmpty(lines);
        foreach (var secret in new[] { oauth.Sandbox.Options.OAuthClientSecret!, oauth.Sandbox.Options.IntegrationPassword, "wrong-but-secret-password", "Bearer", "Basic " })
        {
            var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(leak is null, $"the logs hold \"{secret}\": {leak}");
        }
    }

    private static ServiceNowTestHost StartOAuth(TimeProvider? clock = null, Action<Dictionary<string, string?>>? configure = null) =>
        ServiceNowTestHost.Start(
            s =>
            {
                s.Remove("ServiceNow:Username");
                s.Remove("ServiceNow:Password");
                s["ServiceNow:ClientId"] = "iamf-sandbox-client";
                s["ServiceNow:ClientSecret"] = "sandbox-client-secret";
                s["ServiceNow:IntegrationUserName"] = "iamf.integration";
                configure?.Invoke(s);
            },
            connectorTime: clock);
}
