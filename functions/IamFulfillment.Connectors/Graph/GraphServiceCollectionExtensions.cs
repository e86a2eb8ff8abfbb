using System.Globalization;
using IamFulfillment.Connectors.Http;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Graph;

public static class GraphServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="GraphDirectory"/> as the <see cref="IDirectory"/>: options from the <c>Graph</c> section
    /// (validated at start-up), and the <c>Graph</c> HttpClient whose pipeline is request-id capture →
    /// micro-batcher (when <c>Graph:Batching</c>) → <see cref="RetryHandler"/> (options from <c>Graph:Retry</c>).
    /// </summary>
    public static IServiceCollection AddGraphDirectory(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(GraphOptions.SectionName);
        services.AddOptions<GraphOptions>()
            .Bind(section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GraphOptions>, GraphOptionsValidator>());

        var retrySection = section.GetSection("Retry");
        services.AddOptions<RetryOptions>(GraphOptions.SectionName)
            .Bind(retrySection)
            .PostConfigure(retry =>
            {
                // Read from configuration, not IOptions<GraphOptions>, so a bad Graph section is reported once, by its own validation.
                if (retrySection["AttemptTimeout"] is null)
                {
                    var seconds = int.TryParse(section["TimeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : 30;
                    retry.AttemptTimeout = TimeSpan.FromSeconds(seconds);
                }
            })
            .Validate(retry => retry.MaxAttempts >= 1, "Graph:Retry:MaxAttempts must be at least 1.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(GraphClientBuilder.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers() // they would log URLs, which hold filters with mail addresses and the mailbox's name
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .AddHttpMessageHandler(() => new GraphCallHandler())
            .AddHttpMessageHandler(services => services.GetRequiredService<IOptions<GraphOptions>>().Value is { Batching: true } options
                ? new GraphBatchingHandler(options, RetryOptionsFor(services), services.GetRequiredService<TimeProvider>(), Logger(services, "IamFulfillment.Connectors.Graph.GraphBatcher"))
                : new PassThroughHandler())
            .AddHttpMessageHandler(services => new RetryHandler(GraphErrors.System, RetryOptionsFor(services), services.GetRequiredService<TimeProvider>(),
                Logger(services, "IamFulfillment.Connectors.Graph.Retry")));

        services.TryAddSingleton<GraphDirectory>();
        services.TryAddSingleton<IDirectory>(services => services.GetRequiredService<GraphDirectory>());
        return services;
    }

    private static RetryOptions RetryOptionsFor(IServiceProvider services) =>
        services.GetRequiredService<IOptionsMonitor<RetryOptions>>().Get(GraphOptions.SectionName);

    private static ILogger Logger(IServiceProvider services, string category) =>
        services.GetService<ILoggerFactory>()?.CreateLogger(category) ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Stands in for the batcher when <c>Graph:Batching</c> is off, keeping the pipeline's shape.</summary>
    private sealed class PassThroughHandler : DelegatingHandler;
}
