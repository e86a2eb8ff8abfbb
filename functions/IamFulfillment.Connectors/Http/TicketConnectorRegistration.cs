using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Http;

/// <summary>The registration the REST ticket connectors share: validated options, one retrying HttpClient, the ticket system.</summary>
internal static class TicketConnectorRegistration
{
    public static IServiceCollection AddTicketConnector<TOptions, TValidator, TClient, TSystem>(
        this IServiceCollection services, IConfigurationSection section, string system, string httpClientName)
        where TOptions : class, ITicketConnectorOptions
        where TValidator : class, IValidateOptions<TOptions>
        where TClient : class
        where TSystem : class, ITicketSystem
    {
        // The attempt timeout follows <section>:TimeoutSeconds unless <section>:Retry:AttemptTimeout sets it.
        var attemptTimeoutConfigured = section.GetSection("Retry:AttemptTimeout").Value is not null;
        services.AddOptions<TOptions>()
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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // The factory's default request logging is removed: at Trace it hands header values (the Authorization
        // header, i.e. the credentials) to structured sinks unredacted, and its request lines carry user names from
        // queries. The connector and the retry layer log what matters.
        services.AddHttpClient(httpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .AddHttpMessageHandler(sp => new RetryHandler(
                system,
                sp.GetRequiredService<IOptions<TOptions>>().Value.Retry,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<RetryHandler>()));

        services.TryAddSingleton<TClient>();
        services.TryAddSingleton<TSystem>();
        services.AddSingleton<ITicketSystem>(sp => sp.GetRequiredService<TSystem>());
        return services;
    }
}
