using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Hosting;

/// <summary>The standalone host's timers (the Functions host has timer triggers for the same jobs): expiry of time-bound grants.</summary>
public sealed partial class TimerJobsService(GrantExpiry expiry, ProcessingSettings settings, TimeProvider time, ILogger<TimerJobsService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.ExpirySweepMinutes <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(settings.ExpirySweepMinutes), time);
        do
        {
            try
            {
                var removed = await expiry.SweepAsync(100, stoppingToken);
                if (removed > 0)
                {
                    LogExpired(logger, removed);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogSweepFailed(logger, ex.GetType().Name);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
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

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Expiry sweep failed ({Error}); retried on the next tick")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}
