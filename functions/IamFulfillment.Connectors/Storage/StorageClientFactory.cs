using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Queues;

namespace IamFulfillment.Connectors.Storage;

/// <summary>Builds the storage clients from validated options: connection string, or a token credential for managed identity.</summary>
internal sealed class StorageClientFactory(StorageOptions options)
{
    private readonly Lazy<TokenCredential> _credential = new(() => CreateCredential(options));

    public TableServiceClient CreateTableServiceClient()
    {
        var clientOptions = Configure(new TableClientOptions());
        return options.UsesConnectionString
            ? new TableServiceClient(options.ConnectionString, clientOptions)
            : new TableServiceClient(options.ResolvedTableServiceUri, _credential.Value, clientOptions);
    }

    /// <summary>
    /// The work queue client. Base64 is what the Azure Functions queue trigger expects by default; the consumer of the
    /// standalone host asks for <see cref="QueueMessageEncoding.None"/> and decodes itself (see <see cref="QueueWorkSource"/>).
    /// </summary>
    public QueueClient CreateQueueClient(QueueMessageEncoding encoding)
    {
        var clientOptions = Configure(new QueueClientOptions { MessageEncoding = encoding });
        if (options.UsesConnectionString)
        {
            return new QueueClient(options.ConnectionString, options.QueueName, clientOptions);
        }

        var queueUri = new UriBuilder(options.ResolvedQueueServiceUri!);
        queueUri.Path = queueUri.Path.TrimEnd('/') + "/" + options.QueueName;
        return new QueueClient(queueUri.Uri, _credential.Value, clientOptions);
    }

    private static T Configure<T>(T clientOptions)
        where T : Azure.Core.ClientOptions
    {
        // Fail fast enough for intake to answer 503 while storage is down (about 1.5 s of retries when the endpoint
        // refuses connections) instead of the SDK default of 3 retries from 0.8 s and a 100 s network timeout.
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = 3;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(200);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(15);
        return clientOptions;
    }

    /// <summary>
    /// A client id means a user-assigned managed identity and nothing else; <c>credential=managedidentity</c> means the
    /// system-assigned one; otherwise <see cref="DefaultAzureCredential"/> (developer sign-in locally, managed identity in Azure).
    /// </summary>
    private static TokenCredential CreateCredential(StorageOptions options) =>
        options switch
        {
            { ClientId: { } clientId } => new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId)),
            { Credential: not null } => new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned),
            _ => new DefaultAzureCredential(),
        };
}
