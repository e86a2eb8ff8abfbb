using Azure.Data.Tables;
using Azure.Storage.Queues;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers the storage-backed ports (<see cref="ITicketStore"/>, <see cref="IDeliveryLedger"/>,
    /// <see cref="ICounterStore"/>, <see cref="IGrantRegistry"/>, <see cref="IWorkQueue"/>), the standalone consumer's
    /// <see cref="QueueWorkSource"/>, <see cref="StorageHealth"/> and <see cref="IStorageInitializer"/>, with options
    /// validated at start-up. See <see cref="StorageOptions"/> for the keys.
    /// </summary>
    public static IServiceCollection AddAzureStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Configure(options => StorageOptions.Bind(options, configuration))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton(sp => new StorageClientFactory(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Tables);
        services.TryAddSingleton(sp => sp.GetRequiredService<StorageClientFactory>().CreateTableServiceClient());
        services.TryAddSingleton(sp => sp.GetRequiredService<StorageClientFactory>().CreateQueueClient(QueueMessageEncoding.Base64));

        services.TryAddSingleton(sp => new TableTicketStore(Table(sp, n => n.Tickets), Time(sp), Logger<TableTicketStore>(sp)));
        services.TryAddSingleton(sp => new TableDeliveryLedger(Table(sp, n => n.Deliveries), Time(sp), Logger<TableDeliveryLedger>(sp),
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.DeliveryRetentionDays));
        services.TryAddSingleton(sp => new TableCounterStore(Table(sp, n => n.Counters), Logger<TableCounterStore>(sp)));
        services.TryAddSingleton(sp => new TableGrantRegistry(Table(sp, n => n.Grants), Logger<TableGrantRegistry>(sp)));
        services.TryAddSingleton(sp => new TablePersonLedger(Table(sp, n => n.Persons), Time(sp)));
        services.TryAddSingleton(sp => new QueueWorkQueue(sp.GetRequiredService<QueueClient>(), Logger<QueueWorkQueue>(sp)));
        services.TryAddSingleton(sp => new QueueWorkSource(sp.GetRequiredService<StorageClientFactory>().CreateQueueClient(QueueMessageEncoding.None)));
        services.TryAddSingleton(sp => new StorageHealth(Table(sp, n => n.Deliveries), sp.GetRequiredService<QueueClient>(), Logger<StorageHealth>(sp)));
        services.TryAddSingleton<IStorageInitializer>(sp => new StorageInitializer(
            sp.GetRequiredService<TableServiceClient>(), sp.GetRequiredService<QueueClient>(), sp.GetRequiredService<StorageTableNames>(), Logger<StorageInitializer>(sp)));

        services.TryAddSingleton<ITicketStore>(sp => sp.GetRequiredService<TableTicketStore>());
        services.TryAddSingleton<IDeliveryLedger>(sp => sp.GetRequiredService<TableDeliveryLedger>());
        services.TryAddSingleton<ICounterStore>(sp => sp.GetRequiredService<TableCounterStore>());
        services.TryAddSingleton<IGrantRegistry>(sp => sp.GetRequiredService<TableGrantRegistry>());
        services.TryAddSingleton<IWorkQueue>(sp => sp.GetRequiredService<QueueWorkQueue>());
        services.TryAddSingleton<IPersonLedger>(sp => sp.GetRequiredService<TablePersonLedger>());
        return services;
    }

    private static TableClient Table(IServiceProvider sp, Func<StorageTableNames, string> name) =>
        sp.GetRequiredService<TableServiceClient>().GetTableClient(name(sp.GetRequiredService<StorageTableNames>()));

    private static TimeProvider Time(IServiceProvider sp) => sp.GetRequiredService<TimeProvider>();

    private static ILogger<T> Logger<T>(IServiceProvider sp) =>
        sp.GetService<ILogger<T>>() ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<T>.Instance;
}
