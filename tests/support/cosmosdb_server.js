// Starts @vercel/cosmosdb-server (the CLI, unchanged) after fixing one defect of version 1.0.1:
// a point read of an id that does not exist in the given partition throws a TypeError inside
// handler/read-document.js (it reads `data[path]` of undefined) and answers 500 instead of the 404
// that Cosmos DB gives. The wrapper answers 404 for exactly that case and defers to the original
// handler for everything else.
"use strict";
const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");
const partition = require("@vercel/cosmosdb-server/lib/utils/get-partition-from-header");
const original = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  if (collection.read()) {
    const key = partition.parsePartitionKey(partition.default(req), params.docId);
    if (!collection.document(params.docId, key).read()) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
  }
  return original(account, req, res, params);
};
require("@vercel/cosmosdb-server/lib/cli");
