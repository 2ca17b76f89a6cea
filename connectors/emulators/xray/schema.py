"""The part of Xray Cloud's GraphQL schema (API v2) the emulator serves, written from Xray's
published schema documentation (https://xray.cloud.getxray.app/doc/graphql/): the Test, Step,
Test Set and Test Repository folder types and the queries and mutations casewright uses, with
the argument and result types the documentation gives. Types and arguments casewright does not use
(preconditions, test runs, attachments, versions beyond their argument) are left out.
"""

SDL = '''
"Any JSON value: the `jira` object of a create mutation, the fields `jira(fields:)` returns."
scalar JSON

type Query {
  getTests(issueIds: [String], jql: String, projectId: String, testType: TestTypeInput, modifiedSince: String,
           limit: Int!, start: Int, folder: FolderSearchInput): TestResults
  getTest(issueId: String, jql: String): Test
  getTestSets(issueIds: [String], jql: String, projectId: String, limit: Int!, start: Int,
              modifiedSince: String): TestSetResults
  getFolder(projectId: String, testPlanId: String, path: String!): FolderResults
}

type Mutation {
  createTest(testType: UpdateTestTypeInput, steps: [CreateStepInput], unstructured: String, gherkin: String,
             preconditionIssueIds: [String], folderPath: String, jira: JSON!): CreateTestResult
  updateTestType(issueId: String!, versionId: Int, testType: UpdateTestTypeInput!): Test
  addTestStep(issueId: String!, versionId: Int, step: CreateStepInput!): Step
  updateTestStep(stepId: String!, step: UpdateStepInput!): UpdateTestStepResult
  removeTestStep(stepId: String!): String
  removeAllTestSteps(issueId: String!, versionId: Int): String
  updateTestFolder(issueId: String!, folderPath: String!): String
  createFolder(projectId: String, testPlanId: String, path: String!, testIssueIds: [String],
               issueIds: [String]): ActionFolderResult
  addTestsToFolder(projectId: String, testPlanId: String, path: String!, testIssueIds: [String]!,
                   index: Int): ActionFolderResult
  createTestSet(testIssueIds: [String], jira: JSON!): CreateTestSetResult
  addTestsToTestSet(issueId: String!, testIssueIds: [String]!): AddTestsResult
  removeTestsFromTestSet(issueId: String!, testIssueIds: [String]!): String
}

input TestTypeInput { id: String, name: String, kind: String }
input UpdateTestTypeInput { id: String, name: String }
input FolderSearchInput { path: String!, includeDescendants: Boolean }
input CustomStepFieldInput { id: String!, value: JSON }
input CreateStepInput { action: String, data: String, result: String, customFields: [CustomStepFieldInput],
                        callTestIssueId: String }
input UpdateStepInput { action: String, data: String, result: String, customFields: [CustomStepFieldInput] }

type TestType { id: String, name: String, kind: String }
type CustomStepField { id: String, name: String, value: JSON }
type Step { id: String, action: String, data: String, result: String, customFields: [CustomStepField],
            callTestIssueId: String }
type Folder { name: String, path: String }

type Test {
  issueId: String
  projectId: String
  testType: TestType
  steps: [Step]
  unstructured: String
  gherkin: String
  folder: Folder
  jira(fields: [String]): JSON
  lastModified: String
}

type TestResults { total: Int, start: Int, limit: Int, results: [Test], warnings: [String] }
type CreateTestResult { test: Test, warnings: [String] }
type UpdateTestStepResult { warnings: [String], addedAttachments: [String], removedAttachments: [String] }

type TestSet {
  issueId: String
  projectId: String
  tests(limit: Int!, start: Int): TestResults
  jira(fields: [String]): JSON
  lastModified: String
}
type TestSetResults { total: Int, start: Int, limit: Int, results: [TestSet] }
type CreateTestSetResult { testSet: TestSet, warnings: [String] }
type AddTestsResult { addedTests: [String], warning: String }

type SimpleFolderResults { name: String, path: String, testsCount: Int, folders: JSON }
type FolderResults { name: String, path: String, testsCount: Int, folders: JSON }
type ActionFolderResult { folder: SimpleFolderResults, warnings: [String] }
'''
