using System.Diagnostics;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Sandbox.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class StorageHealthTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task IsAvailable_WhenStorageAnswers_ReturnsTrue()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);

        Assert.True(await scope.Get<StorageHealth>().IsAvailableAsync(CancellationToken.None));
    }

    [Fact]
    public async Task IsAvailable_WhenNothingListens_ReturnsFalseWithinItsTimeout()
    {
        var port = AzuriteRunner.FreePort();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = AzuriteRunner.BuildConnectionString(port, port, port),
        }).Build();
        await using var provider = new ServiceCollection().AddLogging().AddAzureStorage(configuration).BuildServiceProvider();
        var watch = Stopwatch.StartNew();

        var available = await provider.GetRequiredService<StorageHealth>().IsAvailableAsync(CancellationToken.None);

        Assert.False(available);
        Assert.True(watch.Elapsed < StorageHealth.Timeout + TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task EnsureCreated_RunTwice_IsIdempotent()
    {
        await using var scope = await StorageScope.CreateAsync(azurite); // created once here

        await scope.Get<IStorageInitializer>().EnsureCreatedAsync(CancellationToken.None);

        Assert.True(await scope.Get<StorageHealth>().IsAvailableAsync(CancellationToken.None));
    }
}
