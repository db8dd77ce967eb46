#!/usr/bin/env bash
# Build the polyrel flex template and schedule it with Cloud Scheduler. Run from the repository
# root with gcloud authenticated; every setting comes from the environment:
#
#   PROJECT REGION BUCKET         where the template, temp files and outputs live
#   IMAGE                         Artifact Registry image built from deploy/dataflow/Dockerfile (model baked in)
#   CORPUS OUTPUT                 gs:// corpus location(s) (comma-separated) and output directory
#   MODEL                         optional: a gs:// relation model instead of the image's
#   SCHEDULE                      cron syntax for Cloud Scheduler (default: hourly)
#   SCHEDULER_SA                  service account Cloud Scheduler calls Dataflow as (roles/dataflow.developer,
#                                 roles/iam.serviceAccountUser on the worker service account)
#   THRESHOLD MAX_WORKERS         optional
set -euo pipefail
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}" "${IMAGE:?}" "${CORPUS:?}" "${OUTPUT:?}" "${SCHEDULER_SA:?}"
template="gs://$BUCKET/templates/polyrel-incremental.json"

# The plain template's image (deploy/README.md); this template only swaps the entry file.
docker build -f deploy/dataflow/Dockerfile -t "$IMAGE" .
docker push "$IMAGE"
gcloud dataflow flex-template build "$template" \
    --image "$IMAGE" --sdk-language PYTHON \
    --metadata-file deploy/schedule/dataflow/metadata.json \
    --env FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/polyrel/src/deploy/schedule/dataflow/launch.py

body=$(mktemp)
cat >"$body" <<JSON
{
  "launchParameter": {
    "jobName": "polyrel-incremental",
    "containerSpecGcsPath": "$template",
    "parameters": {
      "inputs": "$CORPUS", "out": "$OUTPUT", "ner": "given"${MODEL:+, \"model\": \"$MODEL\"}${THRESHOLD:+, \"threshold\": \"$THRESHOLD\"}
    },
    "environment": {
      "tempLocation": "gs://$BUCKET/tmp",
      "sdkContainerImage": "$IMAGE",
      "maxWorkers": ${MAX_WORKERS:-10}
    }
  }
}
JSON

gcloud scheduler jobs create http polyrel-incremental \
    --project "$PROJECT" --location "$REGION" \
    --schedule "${SCHEDULE:-0 * * * *}" --time-zone "Etc/UTC" \
    --uri "https://dataflow.googleapis.com/v1b3/projects/$PROJECT/locations/$REGION/flexTemplates:launch" \
    --http-method POST --headers "Content-Type=application/json" \
    --message-body-from-file "$body" \
    --oauth-service-account-email "$SCHEDULER_SA" \
    --oauth-token-scope "https://www.googleapis.com/auth/cloud-platform"
rm -f "$body"
echo "scheduled: $template on '${SCHEDULE:-0 * * * *}'; run the loader where the store lives:"
echo "  POLYREL_SKIP_RUN=1 POLYREL_OUT=$OUTPUT POLYREL_KG_STORE=/var/lib/polyrel/kg deploy/schedule/polyrel-update.sh"
