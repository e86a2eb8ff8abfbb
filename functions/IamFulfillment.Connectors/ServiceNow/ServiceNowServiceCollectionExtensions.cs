using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.ServiceNow;

public static class ServiceNowServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ServiceNow ticket system: options from the <c>ServiceNow</c> section, validated at start-up; the
    /// named HttpClient with the one retry layer (<c>ServiceNow:Retry</c>); and <see cref="ServiceNowTicketSystem"/>
    /// as an <see cref="ITicketSystem"/>. Call it only when <c>ServiceNow:InstanceUrl</c> is configured.
    /// </summary>
    public static IServiceCollection AddServiceNow(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(ServiceNowOptions.SectionName);

        // The attempt timeout follows ServiceNow:TimeoutSeconds unless ServiceNow:Retry:AttemptTimeout sets it.
        var attemptTimeoutConfigured = section.GetSection("Retry:AttemptTimeout").Value is not null;
        services.AddOptions<ServiceNowOptions>()
            .Bind(section)
            .PostConfigure(o =>
            {
                if (!attemptTimeoutConfigured)
                {
                    o.Retry.AttemptTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds);
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServiceNowOptions>, ServiceNowOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // The factory's default request logging is removed: at Trace it hands header values (the Authorization
        // header) to structured sinks unredacted, and its request lines carry user names from encoded queries.
        // The connector and the retry layer log what matters.
        services.AddHttpClient(ServiceNowClient.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .AddHttpMessageHandler(sp => new RetryHandler(
                ServiceNowErrors.System,
                sp.GetRequiredService<IOptions<ServiceNowOptions>>().Value.Retry,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<RetryHandler>()));

        services.TryAddSingleton<ServiceNowClient>();
        services.TryAddSingleton<ServiceNowTicketSystem>();
        services.AddSingleton<ITicketSystem>(sp => sp.GetRequiredService<ServiceNowTicketSystem>());
        return services;
    }
}
