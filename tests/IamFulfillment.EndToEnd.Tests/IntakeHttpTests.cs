using System.Net;
using System.Text;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.ServiceNow;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>Webhook intake over HTTP: authenticated over the raw bytes, fail closed, clear 4xx answers, nothing queued on bad input.</summary>
public sealed class IntakeHttpTests : IAsyncLifetime
{
    private Scenario _s = null!;
    private SeededRitm _ritm = null!;

    public async Task InitializeAsync()
    {
        _s = await Scenario.StartAsync(settings => settings["Processing:Concurrency"] = "1", options: new SandboxWorldOptions { WithJira = false });
        _ritm = _s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada");
    }

    public async Task DisposeAsync() => await _s.DisposeAsync();

    [Fact]
    public async Task ValidSignature_IsAccepted()
    {
        var answer = await _s.Host.SendAsync(_s.World.ServiceNow.BuildWebhook(_ritm.SysId));

        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
    }

    [Fact]
    public async Task TamperedBody_IsRefusedWith401AndNothingQueued()
    {
        var good = _s.World.ServiceNow.BuildWebhook(_ritm.SysId);
        var tampered = good with { Body = Encoding.UTF8.GetBytes(good.BodyText.Replace("sc_req_item", "sc_req_itex", StringComparison.Ordinal)) };

        var answer = await _s.Host.SendAsync(tampered);

        await AssertRefused(answer, HttpStatusCode.Unauthorized, "signature does not match");
    }

    [Fact]
    public async Task MissingSignature_IsRefusedWith401()
    {
        var good = _s.World.ServiceNow.BuildWebhook(_ritm.SysId);
        var unsigned = good with { Headers = good.Headers.Where(h => h.Key != ServiceNowWebhookContract.SignatureHeader).ToDictionary(h => h.Key, h => h.Value) };

        await AssertRefused(await _s.Host.SendAsync(unsigned), HttpStatusCode.Unauthorized, "X-IamF-Signature header is missing");
    }

    [Fact]
    public async Task WrongSecret_IsRefusedWith401()
    {
        var wrong = _s.World.ServiceNow.BuildWebhook(_ritm.SysId, secret: Convert.ToBase64String(Encoding.UTF8.GetBytes("another-secret-of-32-bytes-long!")));

        await AssertRefused(await _s.Host.SendAsync(wrong), HttpStatusCode.Unauthorized, "signature does not match");
    }

    [Fact]
    public async Task StaleTimestamp_IsRefusedWith401EvenWhenSigned()
    {
        var stale = _s.World.ServiceNow.BuildWebhook(_ritm.SysId, sentAt: _s.World.ServiceNow.Time.GetUtcNow().AddMinutes(-10));

        await AssertRefused(await _s.Host.SendAsync(stale), HttpStatusCode.Unauthorized, "old");
    }

    [Fact]
    public async Task SignedButMalformedBody_IsRefusedWith400()
    {
        var body = Encoding.UTF8.GetBytes("{\"sys_id\": 42, \"table\": \"sc_req_item\"}");
        var signed = Sign(body);

        await AssertRefused(await _s.Host.SendAsync(signed), HttpStatusCode.BadRequest, "sys_id must be");
    }

    [Fact]
    public async Task OversizedBody_IsRefusedWith413()
    {
        var body = Encoding.UTF8.GetBytes("{\"sys_id\":\"" + new string('a', 300_000) + "\"}");

        await AssertRefused(await _s.Host.SendAsync(Sign(body)), HttpStatusCode.RequestEntityTooLarge, "at most");
    }

    [Fact]
    public async Task WrongContentType_IsRefusedWith415()
    {
        var good = _s.World.ServiceNow.BuildWebhook(_ritm.SysId);
        using var request = good.ToRequest(_s.Host.Http.BaseAddress!);
        request.Content!.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");

        await AssertRefused(await _s.Host.Http.SendAsync(request), HttpStatusCode.UnsupportedMediaType, "application/json");
    }

    [Fact]
    public async Task NoSecretConfigured_RefusesEveryDelivery()
    {
        await using var unconfigured = await HostUnderTest.StartAsync(_s.World, settings => settings["ServiceNow:WebhookSecret"] = null);

        var answer = await unconfigured.SendAsync(_s.World.ServiceNow.BuildWebhook(_ritm.SysId));

        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Contains("No ServiceNow webhook secret is configured", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondarySecret_IsAcceptedDuringRotation()
    {
        var next = Convert.ToBase64String(Encoding.UTF8.GetBytes("the-next-webhook-secret-32-bytes"));
        await using var rotating = await HostUnderTest.StartAsync(_s.World, settings => settings["ServiceNow:WebhookSecretSecondary"] = next);

        var answer = await rotating.SendAsync(_s.World.ServiceNow.BuildWebhook(_ritm.SysId, secret: next));

        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
    }

    private SandboxWebhook Sign(byte[] body)
    {
        var delivery = Guid.NewGuid().ToString("D");
        var timestamp = _s.World.ServiceNow.Time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new SandboxWebhook(ServiceNowWebhookContract.Path, body, new Dictionary<string, string>
        {
            ["Content-Type"] = "application/json",
            [ServiceNowWebhookContract.DeliveryHeader] = delivery,
            [ServiceNowWebhookContract.TimestampHeader] = timestamp,
            [ServiceNowWebhookContract.SignatureHeader] = ServiceNowWebhookContract.Sign(_s.World.ServiceNow.Options.WebhookSecret, timestamp, delivery, body),
        });
    }

    private async Task AssertRefused(HttpResponseMessage answer, HttpStatusCode status, string message)
    {
        Assert.Equal(status, answer.StatusCode);
        Assert.Contains(message, await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var queued = await _s.Host.App.Services.GetRequiredService<QueueWorkSource>().ReceiveAsync(32, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Empty(queued);
    }
}
