using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Core.Processing;

/// <summary>Runs a plan's stages in order, the operations of a stage in parallel, skipping steps a previous attempt finished.</summary>
internal sealed class PlanExecutor(IDirectory directory, TimeProvider time)
{
    /// <summary>
    /// Executes one stage. Successful results are reported through <paramref name="executed"/> before any
    /// transient failure is rethrown, so the caller can record them and a retry does not redo them.
    /// </summary>
    public async Task RunStageAsync(IReadOnlyList<DirectoryOperation> stage, IReadOnlySet<string> done, List<ExecutedStep> executed, CancellationToken cancellationToken)
    {
        var pending = stage.Where(op => !done.Contains(op.StepId)).ToList();
        var tasks = pending.Select(async op =>
        {
            var result = await directory.ApplyAsync(op, cancellationToken);
            return new ExecutedStep(op, result, time.GetUtcNow());
        }).ToList();

        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (tasks.Any(t => t.IsCompletedSuccessfully))
        {
            lock (executed)
            {
                executed.AddRange(tasks.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            }

            throw;
        }

        executed.AddRange(tasks.Select(t => t.Result));
    }
}
