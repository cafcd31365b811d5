using Microsoft.Extensions.Hosting;

namespace Storage.Internal;

/// <summary>Flushes the registered writer when the host stops, within the host's shutdown timeout.</summary>
internal sealed class ChatCompletionWriterFlusher(ChatCompletionWriter writer) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => writer.DisposeAsync().AsTask().WaitAsync(cancellationToken);
}
