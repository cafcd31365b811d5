using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Storage.Internal;

/// <summary>
/// Makes the partitions ahead when the host starts and then periodically, and folds the usage rollups' per-session
/// stripes of past days and hours into one row each (<c>storage_compact_usage()</c>, which changes no total). A failure
/// (the database is down, the schema not migrated yet) is logged and tried again at the next tick: it never stops the
/// host, and writes never depend on it.
/// </summary>
internal sealed partial class PartitionMaintenanceService(ChatCompletionStore store, ChatCompletionPartitionOptions options, ILogger<PartitionMaintenanceService>? logger)
    : BackgroundService
{
    private readonly TaskCompletionSource _firstPass = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first attempt has ended, made partitions or failed (and at once when maintenance is off).</summary>
    internal Task FirstPass => _firstPass.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Maintain)
        {
            _firstPass.TrySetResult();
            return;
        }

        using var timer = new PeriodicTimer(options.Interval > TimeSpan.Zero ? options.Interval : TimeSpan.FromHours(1));
        do
        {
            try
            {
                var made = await store.EnsurePartitionsAsync(Math.Clamp(options.MonthsAhead, 0, 120), stoppingToken).ConfigureAwait(false);
                if (made > 0 && logger is not null)
                {
                    LogMade(logger, made);
                }

                await store.CompactUsageAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ChatCompletionStoreException or ObjectDisposedException or InvalidOperationException)
            {
                if (logger is not null)
                {
                    LogFailed(logger, e, options.Interval);
                }
            }
            finally
            {
                _firstPass.TrySetResult();
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Made the partitions of {Periods} period(s)")]
    private static partial void LogMade(ILogger logger, int periods);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not make the partitions ahead or compact the usage rollups; trying again in {Interval}")]
    private static partial void LogFailed(ILogger logger, Exception exception, TimeSpan interval);
}
