using IamFulfillment.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Reliability.Tests.Infrastructure;

public static class Settings
{
    /// <summary>The storage settings an in-process host runs with, for a <see cref="StorageProbe"/>.</summary>
    public static Dictionary<string, string?> Of(HostUnderTest host)
    {
        var configuration = host.App.Services.GetRequiredService<IConfiguration>();
        return new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = configuration["AzureWebJobsStorage"],
            ["Storage:QueueName"] = configuration["Storage:QueueName"],
            ["Storage:TablePrefix"] = configuration["Storage:TablePrefix"],
        };
    }
}
