using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Hosting;

/// <summary>
/// The standalone host's timers (the Functions host has timer triggers for the same jobs): expiry of time-bound
/// grants (at start-up, then every interval), and reconciliation of tickets whose webhook never arrived (every
/// interval, the first one interval after start-up, so a host started beside tickets being set up does not race them).
/// A failed run is logged and the next tick tries again.
/// </summary>
public sealed partial class TimerJobsService(
    GrantExpiry expiry,
    Reconciliation reconciliation,
    ProcessingSettings settings,
    TimeProvider time,
    ILogger<TimerJobsService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(
        EveryAsync(TimeSpan.FromMinutes(settings.ExpirySweepMinutes), "expiry", ExpireAsync, runAtStart: true, stoppingToken),
        EveryAsync(TimeSpan.FromMinutes(settings.ReconciliationMinutes), "reconciliation", ReconcileAsync, runAtStart: false, stoppingToken));

    private async Task ExpireAsync(CancellationToken cancellationToken)
    {
        var removed = await expiry.SweepAsync(100, cancellationToken);
        if (removed > 0)
        {
            LogExpired(logger, removed);
        }
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var queued = await reconciliation.SweepAsync(TimeSpan.FromMinutes(settings.ReconciliationLookBackMinutes), cancellationToken);
        if (queued > 0)
        {
            LogReconciled(logger, queued);
        }
    }

    private async Task EveryAsync(TimeSpan interval, string job, Func<CancellationToken, Task> run, bool runAtStart, CancellationToken stoppingToken)
    {
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        var first = runAtStart;
        while (first || await WaitAsync(timer, stoppingToken))
        {
            first = false;
            try
            {
                await run(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogJobFailed(logger, job, ex.GetType().Name);
            }
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Removed {Count} expired time-bound grant(s)")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "The {Job} sweep failed ({Error}); retried on the next tick")]
    private static partial void LogJobFailed(ILogger logger, string job, string error);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "Reconciliation queued {Count} ticket(s) whose webhook never led to a run")]
    private static partial void LogReconciled(ILogger logger, int count);
}
