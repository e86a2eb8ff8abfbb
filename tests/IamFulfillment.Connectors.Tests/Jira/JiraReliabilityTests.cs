using System.Diagnostics;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Connectors.Tests.Jira;

public sealed class JiraReliabilityTests : IDisposable
{
    private const string Marker = "[iamf:r0123456789abcdef0123:fulfilled]";
    private readonly JiraWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task RateLimited_RetryAfter_IsWaitedOutOnTheClockBeforeTheRetry()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        _world.Sandbox.Time = clock;
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector(time: clock);
        _world.Sandbox.Faults.Enqueue(SandboxFaultKind.RateLimited, "GET", "/approval", retryAfterSeconds: 3);

        var read = connector.ReadAsync(key, CancellationToken.None);
        await WaitForAsync(() => _world.Sandbox.Calls.Any(c => c.Status == 429));
        var waited = await AdvanceUntilAsync(clock, () => _world.Sandbox.CallCount("GET", "/approval") == 2);
        var ticket = await read.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.InRange(waited, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4.5)); // not before Retry-After, not much after
        Assert.Equal(key, ticket.Number);
        Assert.Equal(2, _world.Sandbox.CallCount("GET", "/approval"));
    }

    [Fact]
    public async Task RateLimited_IsoResetOnly_IsWaitedOutUntilTheResetMinute()
    {
        // 12:01:55 + 1 s rounds up to the reset minute 12:02Z: a wait of 5 s, read from X-RateLimit-Reset alone.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 1, 55, TimeSpan.Zero));
        _world.Sandbox.Time = clock;
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector(time: clock);
        _world.Sandbox.Faults.Enqueue(SandboxFaultKind.RateLimitedResetOnly, "GET", "/rest/api/3/issue/", retryAfterSeconds: 1);

        var read = connector.ReadAsync(key, CancellationToken.None);
        await WaitForAsync(() => _world.Sandbox.Calls.Any(c => c.Status == 429));
        await AdvanceUntilAsync(clock, () => _world.Sandbox.CallCount("GET", "/rest/api/3/issue/") == 2);
        await read.WaitAsync(TimeSpan.FromSeconds(10));

        var retriedAt = _world.Sandbox.Calls.Last(c => c.Path.StartsWith("/rest/api/3/issue/", StringComparison.Ordinal)).At;
        Assert.InRange(retriedAt, new DateTimeOffset(2026, 11, 26, 12, 2, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 26, 12, 2, 1, TimeSpan.Zero));
        Assert.Equal(2, _world.Sandbox.CallCount("GET", "/rest/api/3/issue/"));
    }

    [Fact]
    public async Task RateLimited_ResetLongerThanWaitedInProcess_SurfacesTransientErrorWithTheIsoWait()
    {
        // Reset at 12:02Z, 90 s away: longer than Jira:Retry:MaxRetryAfter (10 s), so the caller re-queues instead.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 30, TimeSpan.Zero));
        _world.Sandbox.Time = clock;
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector(time: clock);
        _world.Sandbox.Faults.Enqueue(SandboxFaultKind.RateLimitedResetOnly, "GET", "/rest/servicedeskapi/request/HR-1", retryAfterSeconds: 80);

        var error = await Assert.ThrowsAsync<TransientConnectorException>(() => connector.ReadAsync(key, CancellationToken.None));

        Assert.Equal(429, error.Status);
        Assert.Equal(TimeSpan.FromSeconds(90), error.RetryAfter);
        Assert.Equal("Jira", error.System);
    }

    [Theory]
    [InlineData(SandboxFaultKind.ServerError)]
    [InlineData(SandboxFaultKind.Unavailable)]
    [InlineData(SandboxFaultKind.ConnectionReset)]
    public async Task TransientFailureOnARead_IsRetried(SandboxFaultKind fault)
    {
        var key = _world.CreateAccessRequest();
        _world.Sandbox.Faults.RetryAfterSeconds = 0;
        _world.Sandbox.Faults.Enqueue(fault, "GET", "/rest/api/3/issue/", times: 2);

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        Assert.Equal(key, ticket.Number);
        Assert.Equal(3, _world.Sandbox.CallCount("GET", "/rest/api/3/issue/"));
    }

    [Fact]
    public async Task ServerErrorOnAComment_IsNotRepeated()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.Faults.Enqueue(SandboxFaultKind.ServerError, "POST", "/comment");

        var error = await Assert.ThrowsAsync<TransientConnectorException>(() => connector.WriteBackAsync(ticket,
            new WriteBack { Outcome = Outcome.NeedsInfo, ChangeState = false, CustomerComment = "Please add an end date.", Marker = Marker }, CancellationToken.None));

        Assert.Equal(500, error.Status);
        Assert.Equal(1, _world.Sandbox.CallCount("POST", "/comment"));
    }

    [Fact]
    public async Task RateLimitedComment_IsSentAgainBecauseNothingWasDone()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.Faults.Enqueue(SandboxFaultKind.RateLimited, "POST", "/comment", retryAfterSeconds: 0);

        await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, ChangeState = false, CustomerComment = "Please add an end date.", Marker = Marker }, CancellationToken.None);

        Assert.Equal(2, _world.Sandbox.CallCount("POST", "/comment"));
        Assert.Single(_world.Sandbox.Comments(key));
    }

    [Fact]
    public async Task TransitionWhoseAnswerWasLost_IsCheckedAgainstTheStatusNotSentAgain()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.ResetCalls();
        _world.Sandbox.Faults.Enqueue(SandboxFaultKind.LostAnswer, "POST", "/transitions");

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "Done.", Marker = Marker }, CancellationToken.None);

        Assert.Equal("Resolved", receipt.StateWritten);
        Assert.Equal("Resolved", _world.Sandbox.StatusOf(key));
        Assert.Equal(1, _world.Sandbox.CallCount("POST", "/transitions"));
        Assert.Contains(_world.Sandbox.Calls, c => c.Method == "GET" && c.Query.Contains("fields=status", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CommentWhoseAnswerWasLost_FailsAndTheMarkerShowsItArrived()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector();
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        _world.Sandbox.Faults.Enqueue(SandboxFaultKind.LostAnswer, "POST", "/comment");

        await Assert.ThrowsAsync<TransientConnectorException>(() => connector.WriteBackAsync(ticket,
            new WriteBack { Outcome = Outcome.NeedsInfo, ChangeState = false, InternalNote = "Interim.", Marker = Marker }, CancellationToken.None));

        Assert.Equal(1, _world.Sandbox.CallCount("POST", "/comment"));
        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, CancellationToken.None));
    }

    [Fact]
    public async Task WrongApiToken_ThrowsPermanentErrorWithStatus()
    {
        var key = _world.CreateAccessRequest();

        var error = await Assert.ThrowsAsync<ConnectorException>(() => _world.Connector(s => s["Jira:ApiToken"] = "wrong").ReadAsync(key, CancellationToken.None));

        Assert.IsNotType<TransientConnectorException>(error);
        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task Failures_CarryStatusAndRequestIdButNeverTheBodyOrSecrets()
    {
        var key = _world.CreateAccessRequest();
        var logs = new CapturingLoggerProvider();
        var connector = _world.Connector(logs: logs);
        var ticket = await connector.ReadAsync(key, CancellationToken.None);
        var queue = new EscalationQueue { Id = "iam", JiraFields = new Dictionary<string, string> { ["customfield_99999"] = "x" } };

        var error = await Assert.ThrowsAsync<ConnectorException>(() => connector.WriteBackAsync(ticket,
            new WriteBack { Outcome = Outcome.Escalated, Queue = queue, InternalNote = "Needs a person.", Marker = Marker }, CancellationToken.None));

        Assert.Equal(400, error.Status);
        Assert.NotNull(error.RequestId);
        Assert.DoesNotContain("cannot be set", error.Message, StringComparison.Ordinal);
        Assert.NotEmpty(logs.Lines);
        Assert.All(logs.Lines, line =>
        {
            Assert.DoesNotContain(_world.Sandbox.Options.IntegrationApiToken, line, StringComparison.Ordinal);
            Assert.DoesNotContain("Basic ", line, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task RandomFaults_FromASeed_AreAbsorbedByTheRetryLayer()
    {
        var key = _world.CreateAccessRequest();
        var connector = _world.Connector(s => s["Jira:Retry:MaxAttempts"] = "6");
        _world.Sandbox.Faults.Reseed(42);
        _world.Sandbox.Faults.RetryAfterSeconds = 0;
        _world.Sandbox.Faults.ServerErrorProbability = 0.2;
        _world.Sandbox.Faults.ConnectionResetProbability = 0.1;
        _world.Sandbox.Faults.RateLimitProbability = 0.1;

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 10; i++)
        {
            var ticket = await connector.ReadAsync(key, CancellationToken.None);
            Assert.Equal(key, ticket.Number);
        }

        Assert.Contains(_world.Sandbox.Calls, c => c.Fault is not null);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
    }

    /// <summary>Moves the fake clock on in small steps until <paramref name="condition"/> holds; returns how far it went.</summary>
    private static async Task<TimeSpan> AdvanceUntilAsync(FakeTimeProvider clock, Func<bool> condition)
    {
        var start = clock.GetUtcNow();
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting for the retry");
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(15);
        }

        return clock.GetUtcNow() - start;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting for the sandbox");
            await Task.Delay(10);
        }
    }
}
