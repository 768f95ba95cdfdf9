// The Event Grid subscription that feeds the upload blob trigger (process_incoming_upload).
//
// A deployment of its own, into the resource group, run by scripts/deploy.sh after the code is
// published (`scripts/deploy.sh post-deploy`, also the azd postdeploy hook): the webhook needs the
// host's blobs_extension system key, which exists only once the blob trigger has been deployed, so
// this cannot be part of main.bicep. The key arrives as a @secure() parameter (from a temporary
// parameters file, never on a command line) and is not kept in the deployment history.
//
// Event Grid delivers duplicates: one upload can raise several BlobCreated events (a multi-request
// upload, retries). Only the operations that commit a whole blob reach the function (data.api below);
// the handler is idempotent on blob name and ETag for the duplicates that remain.
// No dead-letter destination: an upload whose events all fail is found by the redrive_uploads timer.

@description('Event Grid system topic of the storage account (main.bicep output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME).')
param systemTopicName string

@description('Default host name of the Function App (output AZURE_FUNCTION_APP_HOSTNAME).')
param functionAppHostName string

@description('The upload landing container (output INCOMING_CONTAINER).')
param incomingContainerName string = 'incoming'

@secure()
@description('The Functions host\'s blobs_extension system key (`az functionapp keys list`); scripts/deploy.sh reads it.')
param blobsExtensionKey string

// The function the host routes the events to (functions/ingest_bp.py).
var functionName = 'process_incoming_upload'

// Blob Storage data.api values of operations that leave a complete blob: a single-request upload
// (PutBlob), the commit of a block upload (PutBlockList), a server-side copy (CopyBlob), and the
// final flush of a Data Lake upload (FlushWithClose; only with a hierarchical namespace, off on our
// account, kept so that switching it on cannot silently stop uploads). PutBlock, CreateFile and
// the like do not commit a readable blob and are dropped here.
var committingApis = [
  'PutBlob'
  'PutBlockList'
  'CopyBlob'
  'FlushWithClose'
]

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource uploadSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: 'incoming-blob-created'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionAppHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      // Subjects look like /blobServices/default/containers/<container>/blobs/<name>.
      subjectBeginsWith: '/blobServices/default/containers/${incomingContainerName}/blobs/'
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.api'
          values: committingApis
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output name string = uploadSubscription.name
