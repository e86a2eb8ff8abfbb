namespace IamFulfillment.Core.Processing;

/// <summary>Work started ahead (a prefetch, a read that may not be used) whose result nobody may await.</summary>
public static class DroppedTasks
{
    /// <summary>Observes the task's failure, if any, so it is dropped instead of surfacing as an unobserved exception.</summary>
    public static void ObserveFailure(this Task? task) =>
        task?.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
