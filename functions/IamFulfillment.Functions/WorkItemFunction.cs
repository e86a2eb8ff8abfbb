using System.Globalization;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Processing;
using IamFulfillment.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace IamFulfillment.Functions;

/// <summary>
/// Queue trigger → process. The Functions host redelivers a failed message; on its last delivery
/// (<c>Processing:MaxDeliveries</c>, equal to host.json maxDequeueCount) the ticket is escalated with the failure
/// explained instead of the message vanishing into the poison queue.
/// </summary>
public sealed partial class WorkItemFunction(WorkItemHandler handler, ProcessingSettings settings, ILogger<WorkItemFunction> logger)
{
    [Function("ProcessWorkItem")]
    public async Task RunAsync(
        [QueueTrigger("%Storage:QueueName%", Connection = "AzureWebJobsStorage")] string message,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        if (QueueWorkSource.ParseMessage(message) is not { } item)
        {
            LogUnreadable(logger, message.Length);
            return;
        }

        var dequeueCount = DequeueCount(context);
        await handler.HandleAsync(item, dequeueCount, dequeueCount >= settings.MaxDeliveries, cancellationToken);
    }

    private static long DequeueCount(FunctionContext context) =>
        context.BindingContext.BindingData.TryGetValue("DequeueCount", out var value) && value is not null
        && long.TryParse(Convert.ToString(value, CultureInfo.InvariantCulture), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count)
            ? count
            : 1;

    [LoggerMessage(EventId = 6001, Level = LogLevel.Error, Message = "A queue message of {Length} characters is not a work item; dropped")]
    private static partial void LogUnreadable(ILogger logger, int length);
}
