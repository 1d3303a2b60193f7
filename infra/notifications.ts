import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface NotificationsArgs {
  /**
   * The topic's physical name. Fixed, so the state machine's role can name the topic before it
   * exists.
   */
  topicName: string;
  /**
   * Email addresses to subscribe. Each receives a confirmation mail from SNS first and nothing
   * else until its address follows the link: the subscription stays PendingConfirmation
   * (https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html). @default []
   */
  emails?: string[];
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Where people hear about syncs: one SNS topic for results, failures, delete-approval requests
 * and alarms, with an email subscription per configured address.
 */
export class Notifications extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly topicArn: pulumi.Output<string>;

  constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bucketsync:index:Notifications", name, args, opts);

    this.topic = new aws.sns.Topic(`${name}-topic`, { name: args.topicName, tags: args.tags }, { parent: this });
    for (const email of args.emails ?? []) {
      new aws.sns.TopicSubscription(
        `${name}-email-${email}`,
        { topic: this.topic.arn, protocol: "email", endpoint: email },
        { parent: this },
      );
    }

    this.topicArn = this.topic.arn;
    this.registerOutputs({ topicArn: this.topicArn });
  }
}
