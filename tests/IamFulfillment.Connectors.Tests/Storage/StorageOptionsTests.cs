using Azure.Data.Tables;
using Azure.Storage.Queues;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IamFulfillment.Connectors.Tests.Storage;

public sealed class StorageOptionsTests
{
    private const string Azurite = "UseDevelopmentStorage=true";

    private static ServiceProvider Build(params (string Key, string? Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        return new ServiceCollection().AddAzureStorage(configuration).BuildServiceProvider();
    }

    private static string ValidationMessage(params (string Key, string? Value)[] settings)
    {
        using var provider = Build(settings);
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<StorageOptions>>().Value).Message;
    }

    [Fact]
    public void Validate_WithoutAnyConnection_NamesTheMissingKey()
    {
        var message = ValidationMessage();

        Assert.Contains("AzureWebJobsStorage is required (a connection string, or AzureWebJobsStorage:tableServiceUri and :queueServiceUri for managed identity)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WithOnlyTheTableServiceUri_NamesTheQueueServiceUri()
    {
        var message = ValidationMessage(("AzureWebJobsStorage:tableServiceUri", "https://acct.table.core.windows.net"));

        Assert.Contains("AzureWebJobsStorage:queueServiceUri is required", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a uri")]
    [InlineData("http://acct.table.core.windows.net")]
    [InlineData("/relative")]
    public void Validate_WithAServiceUriThatIsNotAbsoluteHttps_NamesTheKey(string uri)
    {
        var message = ValidationMessage(("AzureWebJobsStorage:tableServiceUri", uri), ("AzureWebJobsStorage:queueServiceUri", "https://acct.queue.core.windows.net"));

        Assert.Contains("AzureWebJobsStorage:tableServiceUri must be an absolute https URI", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("My Account")]
    [InlineData("ab")]
    [InlineData("acct.table.core.windows.net")]
    public void Validate_WithAnInvalidAccountName_NamesTheKey(string account)
    {
        var message = ValidationMessage(("AzureWebJobsStorage:accountName", account));

        Assert.Contains("AzureWebJobsStorage:accountName must be a storage account name", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WithAnInvalidConnectionString_SaysSoWithoutEchoingIt()
    {
        var message = ValidationMessage(("AzureWebJobsStorage", "AccountKey=c2VjcmV0LWtleQ==;garbage"));

        Assert.Contains("AzureWebJobsStorage is not a valid storage connection string", message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0LWtleQ", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Storage:TablePrefix", "iamf-prod", "Storage:TablePrefix")]
    [InlineData("Storage:TablePrefix", "1iamf", "Storage:TablePrefix")]
    [InlineData("Storage:QueueName", "Work_Queue", "Storage:QueueName")]
    [InlineData("Storage:QueueName", "a--b", "Storage:QueueName")]
    [InlineData("Storage:DeliveryRetentionDays", "0", "Storage:DeliveryRetentionDays")]
    public void Validate_WithAnInvalidStorageSetting_NamesTheKey(string key, string value, string named)
    {
        var message = ValidationMessage(("AzureWebJobsStorage", Azurite), (key, value));

        Assert.Contains(named, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_WithAConnectionStringOnly_UseTheDefaults()
    {
        using var provider = Build(("AzureWebJobsStorage", Azurite));

        var options = provider.GetRequiredService<IOptions<StorageOptions>>().Value;

        Assert.Equal("iamf-work", options.QueueName);
        Assert.Equal("iamf", options.TablePrefix);
        Assert.Equal(7, options.DeliveryRetentionDays);
        Assert.Equal(["iamftickets", "iamfdeliveries", "iamfcounters", "iamfgrants", "iamfpersons"], options.Tables.All);
        Assert.Equal("iamf-work", provider.GetRequiredService<QueueClient>().Name);
    }

    [Fact]
    public void Options_FromConnectionStringsSection_AreAccepted()
    {
        using var provider = Build(("ConnectionStrings:AzureWebJobsStorage", Azurite));

        Assert.True(provider.GetRequiredService<IOptions<StorageOptions>>().Value.UsesConnectionString);
    }

    [Fact]
    public void Options_WithServiceUrisAndClientId_BuildIdentityClientsForThoseEndpoints()
    {
        using var provider = Build(
            ("AzureWebJobsStorage:tableServiceUri", "https://acct.table.core.windows.net"),
            ("AzureWebJobsStorage:queueServiceUri", "https://acct.queue.core.windows.net/"),
            ("AzureWebJobsStorage:clientId", "00000000-0000-0000-0000-000000000001"),
            ("Storage:QueueName", "iamf-prod"));

        Assert.Equal(new Uri("https://acct.table.core.windows.net"), provider.GetRequiredService<TableServiceClient>().Uri);
        Assert.Equal(new Uri("https://acct.queue.core.windows.net/iamf-prod"), provider.GetRequiredService<QueueClient>().Uri);
        Assert.NotNull(provider.GetRequiredService<ITicketStore>()); // every port resolves without touching the network
        Assert.NotNull(provider.GetRequiredService<QueueWorkSource>());
    }

    [Fact]
    public void Options_WithAccountNameOnly_DeriveBothServiceUris()
    {
        using var provider = Build(("AzureWebJobsStorage:accountName", "acct"), ("AzureWebJobsStorage:credential", "managedidentity"));

        Assert.Equal(new Uri("https://acct.table.core.windows.net"), provider.GetRequiredService<TableServiceClient>().Uri);
        Assert.Equal(new Uri("https://acct.queue.core.windows.net/iamf-work"), provider.GetRequiredService<QueueClient>().Uri);
    }

    [Fact]
    public void Options_ConnectionStringIsNeverPartOfTheirText()
    {
        var options = new StorageOptions { ConnectionString = "AccountKey=c2VjcmV0LWtleQ==" };

        Assert.DoesNotContain("c2VjcmV0", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AddAzureStorage_RegistersEveryPort()
    {
        using var provider = Build(("AzureWebJobsStorage", Azurite));

        Assert.IsType<TableTicketStore>(provider.GetRequiredService<ITicketStore>());
        Assert.IsType<TableDeliveryLedger>(provider.GetRequiredService<IDeliveryLedger>());
        Assert.IsType<TableCounterStore>(provider.GetRequiredService<ICounterStore>());
        Assert.IsType<TableGrantRegistry>(provider.GetRequiredService<IGrantRegistry>());
        Assert.IsType<QueueWorkQueue>(provider.GetRequiredService<IWorkQueue>());
        Assert.NotNull(provider.GetRequiredService<StorageHealth>());
        Assert.NotNull(provider.GetRequiredService<IStorageInitializer>());
        Assert.Same(provider.GetRequiredService<ITicketStore>(), provider.GetRequiredService<TableTicketStore>());
    }
}
